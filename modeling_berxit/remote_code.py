"""Writes the model's source next to its weights, flat, so `trust_remote_code=True` loads it anywhere.

transformers copies only a module's single-dot relative imports; berxit's modeling files import the config
from a sibling package, so we copy the files ourselves and point that import at the flat copy.
"""

from __future__ import annotations

import inspect
from pathlib import Path

AUTO_MAP = {
    "AutoConfig": "configuration_berxit.BerxitConfig",
    "AutoModel": "modeling_berxit.BerxitModel",
    "AutoModelForSequenceClassification": "modeling_berxit.BerxitForSequenceClassification",
}
MODELING_FILES = (
    "backbones.py",
    "exits.py",
    "exit_rules.py",
    "losses.py",
    "outputs.py",
    "remote_code.py",
    "modeling_berxit.py",
)
PACKAGE_CONFIG_IMPORT = "from ..configuration_berxit.configuration_berxit import"
FLAT_CONFIG_IMPORT = "from .configuration_berxit import"


def write_remote_code(save_directory: str | Path, config_class: type) -> list[Path]:
    """Copies the config and modeling sources into `save_directory`; returns the written paths."""
    here = Path(__file__).parent
    sources = [Path(inspect.getfile(config_class)), *(here / name for name in MODELING_FILES)]
    written = []
    for source in sources:
        target = Path(save_directory) / source.name
        target.write_text(source.read_text(encoding="utf-8").replace(PACKAGE_CONFIG_IMPORT, FLAT_CONFIG_IMPORT))
        written.append(target)
    return written
