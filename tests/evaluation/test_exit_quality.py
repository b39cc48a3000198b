"""Each exit's quality from a record: the AUROC of a score against the exit's correctness is scikit-learn's, and
the per-exit rows hold the metric, the certainty head's and the max-softmax's ranking."""

import math

import torch
from sklearn.metrics import roc_auc_score
from tiny_models import tiny_model

from berxit.evaluation.exit_quality import auroc, exit_quality
from berxit.evaluation.records import ExitRecord


def test_auroc_is_scikit_learns_with_ties():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (200,), generator=generator).float()  # many ties
    positive = torch.rand(200, generator=generator) < 0.3 + 0.1 * scores
    assert math.isclose(auroc(scores, positive), roc_auc_score(positive.numpy(), scores.numpy()), rel_tol=1e-9)
    assert math.isnan(auroc(scores, torch.ones(200, dtype=torch.bool)))  # nobody wrong: nothing to rank


def test_exit_quality_has_a_row_per_exit():
    config = tiny_model().config
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (64,), generator=generator)
    logits = torch.randn(64, config.num_hidden_layers, 2, generator=generator)
    logits[:, -1, :] = 0
    logits[torch.arange(64), -1, labels] = 5  # the last exit is always right
    record = ExitRecord(logits, torch.rand(64, config.num_hidden_layers, generator=generator), labels)
    rows = exit_quality(config, record)
    assert [row["exit"] for row in rows] == list(range(1, config.num_hidden_layers + 1))
    assert rows[-1]["accuracy"] == 1.0 and math.isnan(rows[-1]["certainty_auroc"])
    assert all(0 <= row["certainty_auroc"] <= 1 and 0 <= row["softmax_auroc"] <= 1 for row in rows[:-1])
