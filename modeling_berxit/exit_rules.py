"""Exit rules: after each layer, which examples may stop there.

A rule sees one layer's logits and certainties for the examples still running and answers a boolean mask.
The same rule objects serve dynamic inference (where finished examples leave the batch) and the replay of a
recorded pass over every layer (threshold sweeps), so both always agree.
"""

from __future__ import annotations

import math

import torch

from ..configuration_berxit.configuration_berxit import EXIT_RULES, validate_patience, validate_threshold


def entropy_confidence(logits: torch.Tensor) -> torch.Tensor:
    """`1 - H(softmax(logits)) / log(num_labels)`, in [0, 1]; computed from log_softmax so it never overflows."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return (1.0 - entropy / math.log(logits.shape[-1])).clamp(0.0, 1.0)


class ExitRule:
    """Base class: `__call__(layer, logits, certainty)` -> exit mask; `drop_finished(running)` forgets the examples
    that left the batch. `row_state`/`load_row_state` hand per-example state (patience's) to a scheduler that
    regroups examples between layers."""

    def __call__(self, layer: int, logits: torch.Tensor, certainty: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def drop_finished(self, running: torch.Tensor) -> None:
        """Keeps only the rows where `running` is True (rules with per-example state override this)."""

    def row_state(self) -> dict[str, torch.Tensor]:
        """The per-example state after the last call, one row per example (empty for stateless rules)."""
        return {}

    def load_row_state(self, state: dict[str, torch.Tensor]) -> None:
        """Continues from `row_state()` rows of the examples in the next call, in its row order."""


class ThresholdRule(ExitRule):
    """Exits where a score in [0, 1] reaches the layer's threshold."""

    def __init__(self, thresholds: list[float]):
        self.thresholds = thresholds

    def score(self, logits: torch.Tensor, certainty: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, layer, logits, certainty):
        return self.score(logits, certainty) >= self.thresholds[layer]


class CertaintyRule(ThresholdRule):
    """BERxiT's learned rule: exit once the shared certainty head says at least τ."""

    def score(self, logits, certainty):
        return certainty


class EntropyRule(ThresholdRule):
    """DeeBERT's rule, as a confidence: exit once `1 - entropy / log(num_labels)` >= τ."""

    def score(self, logits, certainty):
        return entropy_confidence(logits)


class PatienceRule(ExitRule):
    """PABEE's rule: exit once the predicted class has stayed the same for `patience` consecutive layers."""

    def __init__(self, patience: int):
        self.patience = patience
        self.previous: torch.Tensor | None = None
        self.streak: torch.Tensor | None = None

    def __call__(self, layer, logits, certainty):
        prediction = logits.argmax(-1)
        if self.previous is None:
            self.streak = torch.zeros_like(prediction)
        else:
            self.streak = torch.where(prediction == self.previous, self.streak + 1, 0)
        self.previous = prediction
        return self.streak >= self.patience

    def drop_finished(self, running):
        if self.previous is not None:
            self.previous, self.streak = self.previous[running], self.streak[running]

    def row_state(self):
        return {} if self.previous is None else {"previous": self.previous, "streak": self.streak}

    def load_row_state(self, state):
        self.previous, self.streak = state.get("previous"), state.get("streak")


def make_exit_rule(
    config, rule: str | None = None, threshold: float | list[float] | None = None, patience: int | None = None
) -> ExitRule:
    """Builds a fresh rule from call arguments, falling back to the config's operating point."""
    rule = config.exit_rule if rule is None else rule
    if rule not in EXIT_RULES:
        raise ValueError(f"rule: expected one of {EXIT_RULES}, got {rule!r}.")
    if rule != "certainty" and config.is_regression:
        raise ValueError(
            f"rule: the {rule!r} rule needs class probabilities and this model does regression; use 'certainty'."
        )
    if rule == "patience":
        if threshold is not None:
            raise ValueError("threshold: the patience rule takes no threshold; pass `patience` instead.")
        return PatienceRule(validate_patience(config.patience if patience is None else patience))
    if patience is not None:
        raise ValueError(f"patience: only the patience rule uses it, not the {rule!r} rule.")
    if threshold is None and rule == config.exit_rule:
        threshold = config.exit_threshold
    if threshold is None:
        if config.exit_threshold is not None:  # calibrated for another rule: its scale means nothing here
            raise ValueError(
                f"threshold: the {rule!r} rule needs a threshold of its own; config.exit_threshold is the "
                f"{config.exit_rule!r} rule's operating point."
            )
        raise ValueError(f"threshold: the {rule!r} rule needs a threshold and config.exit_threshold is not set.")
    thresholds = validate_threshold(threshold, config.num_hidden_layers)
    return CertaintyRule(thresholds) if rule == "certainty" else EntropyRule(thresholds)


def replay_exits(
    exit_rule: ExitRule, exit_logits: torch.Tensor, certainties: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replays `exit_rule` over a recorded pass through every layer: each example's 1-based exit layer `(batch,)`
    and its answer there `(batch, labels)`. The model serving with labels, the metrics, the sweep, the experiments
    and the benchmark all replay through here, and it agrees with `early_exit_forward`.

    `exit_logits` is `(batch, layers, labels)` and `certainties` `(batch, layers)`, as `forward` returns them.
    """
    batch, num_layers = certainties.shape
    exit_layers = torch.full((batch,), num_layers, dtype=torch.long, device=certainties.device)  # (batch,)
    running = torch.ones(batch, dtype=torch.bool, device=certainties.device)  # (batch,)
    for layer in range(num_layers - 1):
        # Every example is shown every layer so that per-example state (patience) stays aligned.
        stops = exit_rule(layer, exit_logits[:, layer], certainties[:, layer]) & running  # (batch,)
        exit_layers[stops] = layer + 1
        running &= ~stops
    rows = torch.arange(batch, device=certainties.device)
    return exit_layers, exit_logits[rows, exit_layers - 1]
