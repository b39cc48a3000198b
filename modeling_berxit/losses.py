"""The training objectives a BERxiT model can be asked for, and the certainty head's correctness targets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from ..backbones.adapter import is_tracing

# "all_exits": every exit's task loss (BERxiT's "all exits" step, and joint training);
# "final_exit": the last exit only (ordinary fine-tuning; alternating's other step, two-stage's first stage);
# "early_exits": every exit but the last (two-stage's second stage, with backbone and final exit frozen).
OBJECTIVES = ("all_exits", "final_exit", "early_exits")
CERTAINTY_LOSSES = ("mse", "bce")
CERTAINTY_TARGETS = ("correct", "agreement")
CERTAINTY_GRADIENTS = ("backbone", "head")


@dataclass(frozen=True)
class BerxitObjective:
    """What one training step asks of the model: which exits' task losses (`exits`, one of `OBJECTIVES`) and how
    the rest of the loss is made. The defaults are the paper's recipe; the trainer builds one per step from
    `BerxitTrainingArguments`, and `forward(objective="all_exits")` means `BerxitObjective("all_exits")`.

    - `certainty_target`: what the head learns to predict of each exit, `"correct"` (the paper's: the exit's
      answer is right) or `"agreement"` (the exit answers as the final exit does, CAT's target (Schuster et al.
      2021): exiting there changes nothing, which is what an exit rule that must stay near the final layer needs).
    - `certainty_loss`: the certainty head's loss against those targets, `"mse"` (the paper's) or
      `"bce"` (binary cross-entropy, the likelihood of a right/wrong target); `certainty_weight` scales it.
    - `certainty_gradient`: where that loss reaches, `"backbone"` (the paper's: the head, the exits' poolers and
      the shared layers) or `"head"` (the certainty head alone, so the exits' representations serve the task only).
    - `distillation_weight` (0: off) and `distillation_temperature`: each trained early exit also learns the final
      exit's detached answer (KL between the softened distributions, times T², as FastBERT; for regression the
      squared difference), so low exits learn what the deep ones know.
    - `gradient_equilibrium` (ElasticBERT's, Li et al. 2019): each layer's output passes on the gradient of its own
      exit over the exits still to come, and of the later layers times (those to come - 1) over them, so the
      gradient the shared layers get stays the size of one exit's however many exits sit above them.
    """

    exits: str = "all_exits"
    certainty_target: str = "correct"
    certainty_loss: str = "mse"
    certainty_weight: float = 1.0
    certainty_gradient: str = "backbone"
    distillation_weight: float = 0.0
    distillation_temperature: float = 1.0
    gradient_equilibrium: bool = False

    def __post_init__(self):
        if self.exits not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {OBJECTIVES}, got {self.exits!r}.")
        if self.certainty_target not in CERTAINTY_TARGETS:
            raise ValueError(f"certainty_target: expected one of {CERTAINTY_TARGETS}, got {self.certainty_target!r}.")
        if self.certainty_loss not in CERTAINTY_LOSSES:
            raise ValueError(f"certainty_loss: expected one of {CERTAINTY_LOSSES}, got {self.certainty_loss!r}.")
        if self.certainty_gradient not in CERTAINTY_GRADIENTS:
            raise ValueError(
                f"certainty_gradient: expected one of {CERTAINTY_GRADIENTS}, got {self.certainty_gradient!r}."
            )
        for name in ("certainty_weight", "distillation_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}.")
        value = self.distillation_temperature
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"distillation_temperature: expected a finite number > 0, got {value!r}.")
        if not isinstance(self.gradient_equilibrium, bool):
            raise ValueError(f"gradient_equilibrium: expected True or False, got {self.gradient_equilibrium!r}.")

    def settings(self) -> dict:
        """How the loss is made, beside which exits it trains: what a run records of its recipe."""
        settings = dataclasses.asdict(self)
        del settings["exits"]  # the strategy's, step by step
        return settings

    @classmethod
    def of(cls, objective: str | BerxitObjective) -> BerxitObjective:
        """`objective` as `forward` takes it: a name of `OBJECTIVES` (the paper's recipe) or a whole objective."""
        if isinstance(objective, BerxitObjective):
            return objective
        if not isinstance(objective, str) or objective not in OBJECTIVES:
            raise ValueError(f"objective: expected one of {OBJECTIVES} or a BerxitObjective, got {objective!r}.")
        return cls(exits=objective)


class _ScaleGradient(torch.autograd.Function):
    """The identity forward; the gradient times `factor` backward."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, factor: float) -> torch.Tensor:
        ctx.factor = factor
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.factor, None


def scale_gradient(tensor: torch.Tensor, factor: float) -> torch.Tensor:
    """`tensor` unchanged, its gradient multiplied by `factor` on the way back (gradient equilibrium)."""
    return _ScaleGradient.apply(tensor, factor)


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


def certainty_targets(
    exit_logits: torch.Tensor, labels: torch.Tensor | None, is_regression: bool, target: str = "correct"
) -> torch.Tensor:
    """Whether each exit got it right, `(batch, layers)`, detached: 1/0 for classes, `1 - tanh(|ŷ - y|)` else.
    `target="agreement"` measures each exit against the final exit's answer instead of `labels` (then unused)."""
    with torch.no_grad():
        if target == "agreement":
            final = exit_logits[:, -1]  # (batch, labels)
            labels = final.squeeze(-1) if is_regression else final.argmax(-1)  # (batch,)
        if is_regression:
            return 1.0 - torch.tanh((exit_logits.squeeze(-1) - labels[:, None]).abs())
        return (exit_logits.argmax(-1) == labels[:, None]).to(exit_logits.dtype)


def certainty_loss(certainties: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """The certainty head's loss against the correctness targets, both `(batch, layers)` in [0, 1]."""
    if kind == "bce":
        return F.binary_cross_entropy(certainties, targets.float())
    return F.mse_loss(certainties, targets.float())


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """How far each early exit's answer is from the final exit's, summed over the exits: `student_logits`
    `(batch, exits, labels)`, `teacher_logits` `(batch, labels)`, detached here. Classes: KL(teacher || student)
    of the distributions at `temperature`, times its square (so the gradient keeps its size); regression: the
    squared difference."""
    teacher = teacher_logits.detach()[:, None]  # (batch, 1, labels)
    if student_logits.shape[-1] == 1:
        return ((student_logits - teacher) ** 2).squeeze(-1).mean(0).sum()
    student_log = F.log_softmax(student_logits.float() / temperature, dim=-1)  # (batch, exits, labels)
    teacher_log = F.log_softmax(teacher.float() / temperature, dim=-1)  # (batch, 1, labels)
    kl = (teacher_log.exp() * (teacher_log - student_log)).sum(-1)  # (batch, exits)
    return kl.mean(0).sum() * temperature**2


def objective_exits(objective: str, num_layers: int) -> slice:
    """The exits whose task losses `objective` trains; the others stay out of the graph (no gradient at all)."""
    if objective == "all_exits":
        return slice(0, num_layers)
    if objective == "final_exit":
        return slice(num_layers - 1, num_layers)
    if objective == "early_exits":
        return slice(0, num_layers - 1)
    raise ValueError(f"objective: expected one of {OBJECTIVES}, got {objective!r}.")
