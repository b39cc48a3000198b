"""Fitting a certainty head to answers the exits never trained on. The head is `sigmoid(Linear(features))`, which
is a logistic regression over what it reads, so the fit is one: a row per (example, exit), its L2 strength chosen
by cross-validated log-loss over folds of examples (an example's exits stay in one fold, so no fold is scored on
an example it was fitted on). `BerxitTrainer.fit_certainty_head` writes the fit into a model's head;
`refit_head_auroc` uses it to ask how well any such head could rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

STRENGTHS = np.logspace(-4, 2, 7)  # scikit-learn's C (the inverse L2 strength) over standardised inputs
FOLDS = 5


@dataclass(frozen=True)
class LinearFit:
    """A fitted head on the raw features: `sigmoid(features @ weight + bias)`, and the `strength` (C) chosen."""

    weight: torch.Tensor  # (features,), float64
    bias: float
    strength: float

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """The head's input to the sigmoid, `(..., features)` -> `(...)`."""
        return features.double() @ self.weight + self.bias


def weighted_rows(features: torch.Tensor, targets: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's rows for targets in [0, 1]: each (example, exit) as a 1 weighted by its target and a 0 weighted
    by the rest, whose summed log-loss is the soft target's (regression's `1 - tanh(|error|)`); a row of weight 0 is
    left out, so a 0/1 target is one row."""
    x = features.reshape(-1, features.shape[-1]).double().numpy()  # (examples * layers, features)
    t = targets.reshape(-1).double().numpy()  # (examples * layers,)
    weights = np.concatenate([t, 1.0 - t])
    keep = weights > 0
    rows = np.concatenate([x, x])[keep]
    labels = np.concatenate([np.ones_like(t), np.zeros_like(t)])[keep]
    return rows, labels, weights[keep]


def fit_linear_head(features: torch.Tensor, targets: torch.Tensor) -> LinearFit | None:
    """The L2-regularised logistic regression of `targets` `(examples, layers)`, each in [0, 1], on `features`
    `(examples, layers, features)`, its strength the one of `STRENGTHS` with the least log-loss on held-out folds.
    None where the targets leave nothing to learn (fewer than two examples with a right exit, or with a wrong one)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    targets = targets.double()
    if int((targets.amax(1) > 0).sum()) < 2 or int((targets.amin(1) < 1).sum()) < 2:
        return None
    # Examples dealt round-robin in the order of their summed targets: the two most right and the two most wrong
    # land in different folds, so every fold's complement has both kinds to learn from.
    folds = min(FOLDS, len(targets))
    fold = torch.empty(len(targets), dtype=torch.long)
    fold[torch.argsort(targets.sum(1), stable=True)] = torch.arange(len(targets)) % folds
    flat = features.reshape(-1, features.shape[-1]).double()
    mean, scale = flat.mean(0), flat.std(0).clamp_min(1e-12)  # (features,)
    standard = (features.double() - mean) / scale  # (examples, layers, features)

    def fit(strength: float, rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> LogisticRegression:
        x, y, w = rows
        return LogisticRegression(C=strength, max_iter=1000).fit(x, y, sample_weight=w)

    # Each fold's rows (to fit on, to score) built once, for every strength.
    splits = [
        (weighted_rows(standard[fold != k], targets[fold != k]), weighted_rows(standard[fold == k], targets[fold == k]))
        for k in range(folds)
    ]

    def held_out_loss(strength: float) -> float:
        total = 0.0
        for fitted_on, (x, y, w) in splits:
            predicted = fit(strength, fitted_on).predict_proba(x)[:, 1]
            total += log_loss(y, predicted, sample_weight=w, labels=[0, 1]) * w.sum()
        return total

    strength = float(min(STRENGTHS, key=held_out_loss))
    head = fit(strength, weighted_rows(standard, targets))
    weight = torch.from_numpy(head.coef_[0]) / scale  # back onto the raw features
    return LinearFit(weight, float(head.intercept_[0] - (weight * mean).sum()), strength)
