"""Where the GLUE TSVs lie (beside the checkout, in ../shared/data/glue), and the mark for tests that need them."""

from pathlib import Path

import pytest

GLUE_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "glue"
needs_glue = pytest.mark.skipif(not GLUE_DIR.is_dir(), reason=f"GLUE TSVs not found at {GLUE_DIR}")
