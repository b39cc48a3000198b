"""How good each exit is and how well the scores an exit rule reads tell its right answers from its wrong ones:
per exit, the task metric, the certainty head's AUROC and Brier score against that exit's correctness, and (for
classes) the same AUROC for the exit's own max-softmax, the score entropy-like rules lean on."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..modeling_berxit.losses import certainty_targets
from .metrics import task_metrics
from .records import ExitRecord


def exit_quality(config, record: ExitRecord) -> list[dict]:
    """One row per exit (1-based `exit`): its task metrics, `certainty_auroc`, `certainty_brier` and, for classes,
    `softmax_auroc`; an AUROC is NaN where that exit is right on every example or on none (regression: the
    Spearman correlation of certainty with `1 - tanh(|error|)`, as `certainty_spearman`)."""
    from scipy.stats import spearmanr

    labels = record.labels.float() if config.is_regression else record.labels
    correct = certainty_targets(record.exit_logits, labels, config.is_regression)  # (examples, layers)
    rows = []
    for layer in range(record.num_layers):
        logits, certainty, right = record.exit_logits[:, layer], record.certainties[:, layer], correct[:, layer]
        row = {"exit": layer + 1, **task_metrics(logits, labels, config.is_regression)}
        row["certainty_brier"] = float(((certainty - right) ** 2).mean())
        if config.is_regression:
            row["certainty_spearman"] = float(spearmanr(certainty.numpy(), right.numpy())[0])
        else:
            row["certainty_auroc"] = auroc(certainty, right.bool())
            row["softmax_auroc"] = auroc(torch.softmax(logits, -1).max(-1).values, right.bool())
        rows.append(row)
    return rows


def refit_head_auroc(features: dict[str, torch.Tensor], records: dict[str, ExitRecord]) -> list[float]:
    """How well a certainty head could rank right answers over wrong ones, given what the trained head reads: a
    logistic regression over the same `features` (`(examples, layers, features)`, per split) fitted on `validation`,
    examples the model never trained on (its L2 strength chosen by 5-fold cross-validated log-loss there), against
    each exit's correctness, then its AUROC per exit on `test` (NaN where validation has too few right or wrong
    answers). Where it stays at the max-softmax's, no linear head over these inputs beats the exit's own softmax,
    however it is trained (classes only)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def rows(split):
        correct = certainty_targets(records[split].exit_logits, records[split].labels, False)  # (examples, layers)
        return features[split].double().numpy(), correct.bool()

    fit_x, fit_y = rows("validation")
    score_x, score_y = rows("test")
    folds = min(5, int(fit_y.sum()), int((~fit_y).sum()))  # each fold needs a right and a wrong answer
    if folds < 2:
        return [math.nan] * score_y.shape[1]
    x, y = fit_x.reshape(-1, fit_x.shape[-1]), fit_y.flatten().numpy()  # every (example, exit) one row

    def head(c: float):  # c: scikit-learn's inverse L2 strength; standardised inputs keep L-BFGS quick
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))

    strengths = np.logspace(-4, 2, 7)
    fit_scores = [cross_val_score(head(c), x, y, cv=folds, scoring="neg_log_loss").mean() for c in strengths]
    fitted = head(strengths[int(np.argmax(fit_scores))]).fit(x, y)
    scores = fitted.decision_function(score_x.reshape(-1, score_x.shape[-1])).reshape(score_y.shape)
    return [auroc(torch.from_numpy(scores[:, layer]), score_y[:, layer]) for layer in range(score_y.shape[1])]


def auroc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """The probability that a random positive scores above a random negative (ties count half): Mann-Whitney."""
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    from scipy.stats import rankdata

    ranks = torch.from_numpy(rankdata(scores.numpy())).double()  # (examples,), ties get their mean rank
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))
