"""The training objectives a BERxiT model can be asked for, and the certainty head's correctness targets."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..backbones.backbones import is_tracing

# "all_exits": every exit's task loss (BERxiT's "all exits" step, and joint training);
# "final_exit": the last exit only (ordinary fine-tuning; alternating's other step, two-stage's first stage);
# "early_exits": every exit but the last (two-stage's second stage, with backbone and final exit frozen).
OBJECTIVES = ("all_exits", "final_exit", "early_exits")


def check_labels(labels: torch.Tensor, batch_size: int, config) -> torch.Tensor:
    """Returns labels as a flat `(batch,)` tensor, or raises on a dtype, shape or value the task cannot use."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels: expected a torch.Tensor, got {type(labels).__name__}.")
    if config.is_regression:
        if not labels.is_floating_point():
            raise TypeError(f"labels: regression needs floating-point targets, got dtype {labels.dtype}.")
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels.squeeze(1)
        if not is_tracing() and not torch.isfinite(labels).all():
            raise ValueError(f"labels: regression targets must be finite numbers, got {labels.tolist()}.")
    else:
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"labels: classification needs integer class indices, got dtype {labels.dtype}.")
    if labels.shape != (batch_size,):
        raise ValueError(f"labels: expected shape ({batch_size},) for this batch, got {tuple(labels.shape)}.")
    if not config.is_regression and not is_tracing() and ((labels < 0) | (labels >= config.num_labels)).any():
        raise ValueError(f"labels: class indices must lie in [0, {config.num_labels}), got {labels.tolist()}.")
    return labels


def task_losses(exit_logits: torch.Tensor, labels: torch.Tensor, is_regression: bool) -> torch.Tensor:
    """Mean task loss of each exit given, `(layers,)`: cross-entropy for classes, MSE for regression."""
    batch, num_layers, num_labels = exit_logits.shape
    if is_regression:
        errors = (exit_logits.squeeze(-1) - labels[:, None]) ** 2
    else:
        flat = exit_logits.reshape(batch * num_layers, num_labels)
        errors = F.cross_entropy(flat, labels.repeat_interleave(num_layers), reduction="none")
        errors = errors.view(batch, num_layers)
    return errors.mean(0)


def certainty_targets(exit_logits: torch.Tensor, labels: torch.Tensor, is_regression: bool) -> torch.Tensor:
    """Whether each exit got it right, `(batch, layers)`, detached: 1/0 for classes, `1 - tanh(|ŷ - y|)` else."""
    with torch.no_grad():
        if is_regression:
            return 1.0 - torch.tanh((exit_logits.squeeze(-1) - labels[:, None]).abs())
        return (exit_logits.argmax(-1) == labels[:, None]).to(exit_logits.dtype)


def objective_exits(objective: str, num_layers: int) -> slice:
    """The exits whose task losses `objective` trains; the others stay out of the graph (no gradient at all)."""
    if objective == "all_exits":
        return slice(0, num_layers)
    if objective == "final_exit":
        return slice(num_layers - 1, num_layers)
    if objective == "early_exits":
        return slice(0, num_layers - 1)
    raise ValueError(f"objective: expected one of {OBJECTIVES}, got {objective!r}.")
