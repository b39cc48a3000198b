"""Writes the model's source next to its weights, flat, so `trust_remote_code=True` loads it anywhere.

transformers copies only a module's single-dot relative imports; berxit's modeling files and its config import
each other across sibling packages, so we copy the files ourselves and point those imports at the flat copies.
"""

from __future__ import annotations

import inspect
from pathlib import Path

AUTO_MAP = {
    "AutoConfig": "configuration_berxit.BerxitConfig",
    "AutoModel": "modeling_berxit.BerxitModel",
    "AutoModelForSequenceClassification": "modeling_berxit.BerxitForSequenceClassification",
}
# Every backbone adapter (`backbone*.py`) travels too, so a new family needs no line here.
MODELING_FILES = ("exits.py", "exit_rules.py", "losses.py", "outputs.py", "remote_code.py", "modeling_berxit.py")
# Package imports -> the flat copies' imports.
FLAT_IMPORTS = {
    "from ..configuration_berxit.configuration_berxit import": "from .configuration_berxit import",
    "from ..modeling_berxit.": "from .",
}


def write_remote_code(save_directory: str | Path, config_class: type) -> list[Path]:
    """Copies the config and modeling sources into `save_directory`; returns the written paths."""
    here = Path(__file__).parent
    modeling = [*sorted(here.glob("backbone*.py")), *(here / name for name in MODELING_FILES)]
    written = []
    for source in [Path(inspect.getfile(config_class)), *modeling]:
        text = source.read_text(encoding="utf-8")
        for package_import, flat_import in FLAT_IMPORTS.items():
            text = text.replace(package_import, flat_import)
        target = Path(save_directory) / source.name
        target.write_text(text)
        written.append(target)
    return written
