"""Writes the model's source next to its weights, flat, so `trust_remote_code=True` loads it anywhere.

transformers copies only a module's single-dot relative imports; berxit's config and modeling files import the
backbone adapters and the exit rules from sibling packages, so we copy the files ourselves and point those imports
at the flat copies.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

AUTO_MAP = {
    "AutoConfig": "configuration_berxit.BerxitConfig",
    "AutoModel": "modeling_berxit.BerxitModel",
    "AutoModelForSequenceClassification": "modeling_berxit.BerxitForSequenceClassification",
}
MODELING_FILES = ("exits.py", "losses.py", "outputs.py", "remote_code.py", "modeling_berxit.py")
# The packages the model is built from, copied whole: every backbone adapter and exit rule travels, so a new family
# or rule needs no line here.
PACKAGES = ("backbones", "exit_rules")
# Package imports -> the flat copies' imports.
FLAT_IMPORTS = {
    "from ..configuration_berxit.configuration_berxit import": "from .configuration_berxit import",
    "from ..modeling_berxit.": "from .",
    "from ..backbones.": "from .",
    "from ..exit_rules.": "from .",
}


def source_files(config_class: type) -> list[Path]:
    """The config's and the model's source files: from berxit's packages, or, in a flat copy loaded as remote code
    (which saves itself again), every module beside this one."""
    here = Path(__file__).parent
    config_file = Path(inspect.getfile(config_class))
    if (here / "backbones.py").is_file():  # flat: the packages' modules lie beside this one
        flat = sorted(path for path in here.glob("*.py") if path.name not in ("__init__.py", config_file.name))
        return [config_file, *flat]
    folders = [Path(importlib.import_module(f"..{package}", __package__).__file__).parent for package in PACKAGES]
    packaged = [path for folder in folders for path in sorted(folder.glob("*.py")) if path.name != "__init__.py"]
    return [config_file, *packaged, *(here / name for name in MODELING_FILES)]


def write_remote_code(save_directory: str | Path, config_class: type) -> list[Path]:
    """Copies the config and modeling sources into `save_directory`; returns the written paths."""
    written = []
    for source in source_files(config_class):
        text = source.read_text(encoding="utf-8")
        for package_import, flat_import in FLAT_IMPORTS.items():
            text = text.replace(package_import, flat_import)
        target = Path(save_directory) / source.name
        target.write_text(text)
        written.append(target)
    return written
