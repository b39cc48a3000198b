"""Writes the model's source next to its weights, flat, so `trust_remote_code=True` loads it anywhere.

transformers copies only a module's single-dot relative imports from one folder; berxit's config and model import
the backbone adapters and the exit rules from sibling packages. So the files are copied into one folder and their
imports rewritten by one table (`hub_modules`: each flat module and the package module it comes from), which
`package_source` reads the other way.
"""

from __future__ import annotations

import re
from pathlib import Path

AUTO_MAP = {
    "AutoConfig": "configuration_berxit.BerxitConfig",
    "AutoModel": "modeling_berxit.BerxitModel",
    "AutoModelForSequenceClassification": "modeling_berxit.BerxitForSequenceClassification",
}
# The modules the auto_map names keep the names it gives them; every other module keeps its own.
RENAMED = {"configuration_berxit": "configuration_berxit.config", "modeling_berxit": "modeling_berxit.model"}
MODELING_FILES = ("exits.py", "losses.py", "outputs.py", "remote_code.py", "modeling_berxit.py")
# The packages the model is built from, copied whole: every backbone adapter and exit rule travels, so a new family
# or rule needs no line here.
PACKAGES = ("backbones", "exit_rules")
RELATIVE_IMPORT = re.compile(r"^(\s*from )(\.+)(\w[\w.]*)( import)", re.MULTILINE)
HERE = Path(__file__).parent
FLAT = (HERE / "modeling_berxit.py").is_file()  # loaded as remote code from a Hub folder, not from berxit's packages


def hub_modules() -> dict[str, str]:
    """Each module of the Hub folder -> its module in berxit's packages (relative to the package root)."""
    modules = dict(RENAMED)
    for name in MODELING_FILES:
        modules.setdefault(name.removesuffix(".py"), f"modeling_berxit.{name.removesuffix('.py')}")
    for package in PACKAGES:
        for path in sorted((HERE.parent / package).glob("*.py")):
            if path.name != "__init__.py":
                modules[path.stem] = f"{package}.{path.stem}"
    return modules


def flat_source(text: str, package: str, modules: dict[str, str]) -> str:
    """A package module's source (`package`: its folder) with its imports pointing at the flat copies."""
    flat_names = {module: flat for flat, module in modules.items()}

    def flat(match: re.Match) -> str:
        module = match[3] if len(match[2]) == 2 else f"{package}.{match[3]}"  # relative to the package root
        return f"{match[1]}.{flat_names[module]}{match[4]}"

    return RELATIVE_IMPORT.sub(flat, text)


def package_source(text: str, package: str, modules: dict[str, str]) -> str:
    """A flat copy's source as it reads in `package`: `flat_source` the other way."""

    def packaged(match: re.Match) -> str:
        owner, _, name = modules[match[3]].rpartition(".")
        return f"{match[1]}{'.' if owner == package else '..' + owner + '.'}{name}{match[4]}"

    return RELATIVE_IMPORT.sub(packaged, text)


def write_remote_code(save_directory: str | Path) -> list[Path]:
    """Copies the config and modeling sources into `save_directory`, flat; returns the written paths. A flat copy
    (which saves itself again) copies every module beside this one as it is."""
    if FLAT:
        sources = {path.name: path.read_text(encoding="utf-8") for path in sorted(HERE.glob("*.py"))}
        sources.pop("__init__.py", None)
    else:
        modules = hub_modules()
        sources = {}
        for flat, module in modules.items():
            package, name = module.split(".")
            text = (HERE.parent / package / f"{name}.py").read_text(encoding="utf-8")
            sources[f"{flat}.py"] = flat_source(text, package, modules)
    written = []
    for name, text in sources.items():
        target = Path(save_directory) / name
        target.write_text(text)
        written.append(target)
    return written
