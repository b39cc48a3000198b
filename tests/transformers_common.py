"""transformers' own common model and config tests (`ModelTesterMixin`, `ConfigTester`), taken from the source
distribution of the installed transformers release on first use, as a model inside transformers runs them.

The release's sdist ships `tests/test_modeling_common.py` and `tests/test_configuration_common.py` but not three
modules they import: two for mixins that do not apply to an encoder (`exporters.test_export`,
`generation.test_utils`), stood in for by empty mixins, and `utils.test_configuration_utils`, whose
`config_common_kwargs` only `ConfigTester.check_config_arguments_init` reads, which returns at once for a config
with sub-configs such as berxit's.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import transformers

CACHE = Path(__file__).parent / ".transformers_tests"  # ignored by git
PACKAGE = "transformers_common_tests"
FILES = ("test_modeling_common.py", "test_configuration_common.py")
STUBS = {
    "exporters/test_export.py": "class ExportTesterMixin:\n    pass\n",
    "generation/test_utils.py": "class GenerationTesterMixin:\n    pass\n",
    "utils/test_configuration_utils.py": "config_common_kwargs = {}\n",
}


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
    for path, text in STUBS.items():  # stand-ins for what transformers' sdist does not ship
        (staging / path).parent.mkdir(exist_ok=True)
        (staging / path).parent.joinpath("__init__.py").write_text("")
        (staging / path).write_text(text)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(folder)
    except OSError:  # another process (a pytest-xdist worker) put the same files there first
        shutil.rmtree(staging)
        if not all((folder / name).is_file() for name in FILES):
            raise
    return folder


def common_tests(name: str):
    """`tests/<name>.py` of the installed transformers (`test_modeling_common`, `test_configuration_common`)."""
    folder = str(fetch().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(f"{PACKAGE}.{name}")
