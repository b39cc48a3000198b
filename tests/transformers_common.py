"""transformers' own common model tests (`ModelTesterMixin`), taken from the source distribution of the installed
transformers release on first use, as a model inside transformers runs them.

The release's sdist ships `tests/test_modeling_common.py` but not the two modules it imports for mixins that do
not apply to an encoder (`exporters.test_export`, `generation.test_utils`); they are stood in for by empty mixins.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import transformers

CACHE = Path(__file__).parent / ".transformers_tests"  # ignored by git
PACKAGE = "transformers_common_tests"
FILES = ("test_modeling_common.py",)
STUBS = {"exporters/test_export.py": "ExportTesterMixin", "generation/test_utils.py": "GenerationTesterMixin"}


def fetch() -> Path:
    """The package folder holding transformers' common tests, downloaded from PyPI once per version."""
    folder = CACHE / transformers.__version__ / PACKAGE
    if all((folder / name).is_file() for name in FILES):
        return folder
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
            + ["--dest", download, f"transformers=={transformers.__version__}"],
            check=True,
        )
        (archive,) = Path(download).glob("transformers-*.tar.gz")
        CACHE.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=".staging-"))
        with tarfile.open(archive) as sdist:
            for name in FILES:
                member = sdist.getmember(f"transformers-{transformers.__version__}/tests/{name}")
                (staging / name).write_bytes(sdist.extractfile(member).read())
    (staging / "__init__.py").write_text("")
    for path, mixin in STUBS.items():
        (staging / path).parent.mkdir(exist_ok=True)
        (staging / path).parent.joinpath("__init__.py").write_text("")
        (staging / path).write_text(f"class {mixin}:  # stands in: not in transformers' sdist\n    pass\n")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(folder)
    return folder


def modeling_common():
    """`tests/test_modeling_common.py` of the installed transformers, as a module."""
    sys.path.insert(0, str(fetch().parent))
    return importlib.import_module(f"{PACKAGE}.test_modeling_common")
