"""The task metrics every evaluation reports: accuracy (and F1 for two classes), or Pearson and Spearman.

scipy is imported when a correlation is computed, not when berxit is: serving needs it not. Accuracy and F1 are
computed here in torch, fast enough to bootstrap.
"""

from __future__ import annotations

import torch


def depth_metrics(exit_layers: torch.Tensor, num_layers: int) -> dict[str, float]:
    """The work of 1-based `exit_layers` `(examples,)` out of `num_layers`: the average exit layer, the share of
    layers saved and the ideal speed-up (what a perfect implementation would gain)."""
    average = float(exit_layers.float().mean())
    return {
        "avg_exit_layer": average,
        "saved_layers": 1.0 - average / num_layers,
        "ideal_speedup": num_layers / average,
    }


def task_metrics(logits: torch.Tensor, labels: torch.Tensor, is_regression: bool) -> dict[str, float]:
    """Accuracy (and F1 for two classes), or Pearson and Spearman correlation for regression."""
    if is_regression:
        from scipy.stats import pearsonr, spearmanr

        predictions = logits.squeeze(-1).double().numpy()
        reference = labels.double().numpy()
        return {
            "pearson": float(pearsonr(predictions, reference)[0]),
            "spearman": float(spearmanr(predictions, reference)[0]),
        }
    predictions = logits.argmax(-1)  # (examples,)
    metrics = {"accuracy": float((predictions == labels).double().mean())}
    if logits.shape[-1] == 2:  # F1 of class 1, 0 where nothing is predicted or labelled 1 (as scikit-learn's)
        true_positives = float(((predictions == 1) & (labels == 1)).sum())
        errors = float((predictions != labels).sum())
        metrics["f1"] = 2 * true_positives / (2 * true_positives + errors) if true_positives else 0.0
    return metrics
