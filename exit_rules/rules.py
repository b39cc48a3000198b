"""Exit rules: after each layer, which examples may stop there.

A rule sees one layer's logits and certainties for the examples still running and answers a boolean mask; the last
layer always answers. Each rule class owns its facts: its name, whether it needs class probabilities, the name and
grid of its setting (a threshold, or a patience), and where the config keeps its operating point. Everything else
(config validation, sweeps, cards, metrics, experiments, the serving scheduler) asks the rule, so a new rule is one
class here, registered with `@register_exit_rule`.

The same rule objects serve dynamic inference (where finished examples leave the batch), the scheduler (which
regroups examples between layers), the replay of a recorded pass over every layer (sweeps) and the ONNX Runtime
runner, so all agree: a rule decides on torch tensors or numpy arrays alike, and this module imports torch only
where a torch tensor is handled (serving on ONNX Runtime needs no torch).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(f"transformers.{__name__}")  # under transformers' logging, as the model's
EXIT_RULES: dict[str, type[ExitRule]] = {}  # name -> rule class, in registration order
# A threshold rule's sweep grid: 0.00, 0.01, ..., 1.00, and finer in the last hundredth (0.991, ..., 0.999, 0.9991,
# ..., 0.9999), where a calibrated head's scores at the deep exits bunch (a certainty head fitted to held-out answers
# gives most examples 0.99+ there, so a step of 0.01 lets through a whole exit at once).
THRESHOLDS = sorted(
    {round(float(value), 2) for value in np.linspace(0.0, 1.0, 101)}
    | {round(0.99 + step / 1000, 3) for step in range(1, 10)}
    | {round(0.999 + step / 10000, 4) for step in range(1, 10)}
)


def validate_threshold(threshold, num_layers: int, name: str = "threshold") -> list[float]:
    """Checks one threshold or one per early exit, all in [0, 1]; returns one value per early exit."""
    values = list(threshold) if isinstance(threshold, (list, tuple)) else [threshold] * (num_layers - 1)
    if isinstance(threshold, (list, tuple)) and len(values) != num_layers - 1:
        raise ValueError(
            f"{name}: a per-layer list needs one value per early exit (num_hidden_layers - 1 = {num_layers - 1}), "
            f"got {len(values)}."
        )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name}: expected a number in [0, 1] or a list of them, got {value!r}.")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}: expected values in [0, 1], got {value!r}.")
    return [float(v) for v in values]


def validate_patience(patience) -> int:
    if isinstance(patience, bool) or not isinstance(patience, int):
        raise TypeError(f"patience: expected an int >= 1, got {patience!r}.")
    if patience < 1:
        raise ValueError(f"patience: expected an int >= 1, got {patience}.")
    return patience


def register_exit_rule(cls: type[ExitRule]) -> type[ExitRule]:
    """Class decorator: makes the rule known by `cls.name` to the config, `early_exit_forward` and the tools."""
    EXIT_RULES[cls.name] = cls
    return cls


class ExitRule:
    """Base class. A rule is built for one setting and a number of layers; `__call__(layer, logits, certainty)`
    says who may stop after early layer `layer` (0-based), `decide` adds that the last layer always answers.

    Per-example state (patience's streak) is one dict of tensors with a row per example still running:
    `row_state()` reads it, `load_row_state(state)` continues from rows in the next call's order, and
    `keep_rows(mask)` keeps the rows that go on."""

    name: ClassVar[str]
    needs_classes: ClassVar[bool] = False  # whether it reads class probabilities (then no regression)
    setting_name: ClassVar[str]  # the argument of `early_exit_forward` that sets it: "threshold" or "patience"

    def __init__(self, setting: Any, num_layers: int):
        self.setting, self.num_layers = setting, num_layers

    @classmethod
    def check_setting(cls, setting: Any, num_layers: int) -> Any:
        """The setting, checked (and normalised); raises naming `setting_name`."""
        raise NotImplementedError

    @classmethod
    def settings(cls, num_layers: int) -> list:
        """Every setting a sweep replays, from the most eager to exit to the least; Learn then Test walks them back
        from the safest."""
        raise NotImplementedError

    @classmethod
    def saved_setting(cls, config) -> Any:
        """The operating point the config holds for this rule, or None."""
        raise NotImplementedError

    @classmethod
    def save_setting(cls, config, setting: Any) -> None:
        """Writes `setting` into the config as its operating point (with `exit_rule` set to this rule); None (no
        setting was certified) makes the loaded model answer from the last layer."""
        raise NotImplementedError

    def __call__(self, layer: int, logits: torch.Tensor, certainty: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decide(self, layer: int, logits: torch.Tensor, certainty: torch.Tensor) -> torch.Tensor:
        """Who stops after layer `layer`, `(rows,)` bool: the rule's answer, and everyone at the last layer."""
        if layer == self.num_layers - 1:
            if is_numpy(certainty):
                return np.ones(certainty.shape[0], dtype=bool)
            return _torch().ones_like(certainty, dtype=bool)
        return self(layer, logits, certainty)

    def row_state(self) -> dict[str, torch.Tensor]:
        """The per-example state after the last call, one row per example (empty for stateless rules)."""
        return {}

    def load_row_state(self, state: dict[str, torch.Tensor]) -> None:
        """Continues from `row_state()` rows of the examples in the next call, in its row order."""

    def keep_rows(self, running: torch.Tensor) -> None:
        """Keeps the state of the rows where `running` is True (the examples that did not exit)."""
        self.load_row_state({key: value[running] for key, value in self.row_state().items()})


class ThresholdRule(ExitRule):
    """Exits where a score in [0, 1] reaches the layer's threshold (one value, or one per early exit)."""

    setting_name = "threshold"

    def __init__(self, setting, num_layers: int):
        super().__init__(setting, num_layers)
        self.thresholds = validate_threshold(setting, num_layers)

    @classmethod
    def check_setting(cls, setting, num_layers):
        validate_threshold(setting, num_layers)
        return setting

    @classmethod
    def settings(cls, num_layers):
        return THRESHOLDS

    @classmethod
    def saved_setting(cls, config):
        return config.exit_threshold if config.exit_rule == cls.name else None

    @classmethod
    def save_setting(cls, config, setting):
        config.exit_rule, config.exit_threshold = cls.name, setting

    def score(self, logits: torch.Tensor, certainty: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, layer, logits, certainty):
        return self.score(logits, certainty) >= self.thresholds[layer]


@register_exit_rule
class CertaintyRule(ThresholdRule):
    """BERxiT's learned rule: exit once the shared certainty head says at least τ."""

    name = "certainty"

    def score(self, logits, certainty):
        return certainty


def entropy_confidence(logits: torch.Tensor) -> torch.Tensor:
    """`1 - H(softmax(logits)) / log(num_labels)`, in [0, 1]; computed from log_softmax so it never overflows."""
    if is_numpy(logits):
        shifted = logits.astype(np.float32) - logits.max(-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        entropy = -(np.exp(log_probs) * log_probs).sum(-1)
        return np.clip(1.0 - entropy / math.log(logits.shape[-1]), 0.0, 1.0)
    log_probs = _torch().log_softmax(logits.float(), dim=-1)
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    return (1.0 - entropy / math.log(logits.shape[-1])).clamp(0.0, 1.0)


@register_exit_rule
class EntropyRule(ThresholdRule):
    """DeeBERT's rule, as a confidence: exit once `1 - entropy / log(num_labels)` >= τ."""

    name = "entropy"
    needs_classes = True

    def score(self, logits, certainty):
        return entropy_confidence(logits)


@register_exit_rule
class PatienceRule(ExitRule):
    """PABEE's rule: exit once the predicted class has stayed the same for `patience` consecutive layers."""

    name = "patience"
    needs_classes = True
    setting_name = "patience"

    def __init__(self, setting: int, num_layers: int):
        super().__init__(validate_patience(setting), num_layers)
        self.previous: torch.Tensor | None = None
        self.streak: torch.Tensor | None = None

    @classmethod
    def check_setting(cls, setting, num_layers):
        return validate_patience(setting)

    @classmethod
    def settings(cls, num_layers):
        return list(range(1, num_layers))

    @classmethod
    def saved_setting(cls, config):
        return config.patience  # always set: the config's default patience is an operating point

    @classmethod
    def save_setting(cls, config, setting):
        # No setting (nothing certified): a patience no streak reaches before the last layer, which then answers.
        patience = config.num_hidden_layers if setting is None else setting
        config.exit_rule, config.exit_threshold, config.patience = cls.name, None, patience

    def __call__(self, layer, logits, certainty):
        prediction = logits.argmax(-1)
        if self.previous is None:
            self.streak = prediction * 0
        else:
            self.streak = (self.streak + 1) * (prediction == self.previous)  # the streak, or 0 where it broke
        self.previous = prediction
        return self.streak >= self.setting

    def row_state(self):
        return {} if self.previous is None else {"previous": self.previous, "streak": self.streak}

    def load_row_state(self, state):
        self.previous, self.streak = state.get("previous"), state.get("streak")


def is_numpy(array) -> bool:
    """Whether a rule is deciding on numpy arrays (the ONNX Runtime runner) rather than torch tensors."""
    return isinstance(array, np.ndarray)


def _torch():
    import torch

    return torch


def exit_rule_class(name: str, argument: str = "rule") -> type[ExitRule]:
    """The rule registered as `name`; an unknown name is refused naming `argument`."""
    if name not in EXIT_RULES:
        raise ValueError(f"{argument}: expected one of {tuple(EXIT_RULES)}, got {name!r}.")
    return EXIT_RULES[name]


def rules_for(config) -> list[str]:
    """The rules a model can exit by: regression has no class probabilities for the rules that need them."""
    return [name for name, cls in EXIT_RULES.items() if not (cls.needs_classes and config.is_regression)]


def check_rule_applies(config, name: str) -> type[ExitRule]:
    """The rule `name`, refused where the model cannot use it (a rule that needs classes, on regression)."""
    cls = exit_rule_class(name)
    if cls.needs_classes and config.is_regression:
        raise ValueError(
            f"rule: the {name!r} rule needs class probabilities and this model does regression; use one of "
            f"{rules_for(config)}."
        )
    return cls


def build_exit_rule(config, name: str, setting: Any) -> ExitRule:
    """A fresh rule `name` at `setting` for `config`'s model."""
    return check_rule_applies(config, name)(setting, config.num_hidden_layers)


class FinalLayer(ExitRule):
    """What a model serves where its sweep certified no setting of its rule: no early exit, the last layer answers
    every example (not a rule one chooses: it is `make_exit_rule`'s answer to an uncertified operating point)."""

    setting_name = "threshold"

    def __init__(self, name: str, num_layers: int):
        super().__init__(None, num_layers)
        self.name = name

    def __call__(self, layer, logits, certainty):
        return certainty > math.inf  # (rows,) all False, numpy or torch


NO_EARLY_EXIT = "none"  # `rule=` for the plain model's answers and cost: every example runs every layer

_said_uncertified: set[str] = set()


def uncertified(config) -> bool:
    """Whether the config's operating point is the sweep's "nothing certified" (its promise says so)."""
    return bool(config.exit_promise) and config.exit_promise.get("certified") is False


def make_exit_rule(
    config, rule: str | None = None, threshold: float | list[float] | None = None, patience: int | None = None
) -> ExitRule:
    """Builds a fresh rule from `early_exit_forward`'s arguments, falling back to the config's operating point
    (`rule="none"`: no early exit, the last layer answers every example)."""
    if rule == NO_EARLY_EXIT:
        if threshold is not None or patience is not None:
            raise ValueError(f"rule: the {NO_EARLY_EXIT!r} rule takes no threshold or patience.")
        return FinalLayer(NO_EARLY_EXIT, config.num_hidden_layers)
    cls = check_rule_applies(config, config.exit_rule if rule is None else rule)
    given = {"threshold": threshold, "patience": patience}
    for argument, value in given.items():
        if value is not None and argument != cls.setting_name:
            raise ValueError(f"{argument}: the {cls.name} rule takes no {argument}; pass `{cls.setting_name}` instead.")
    setting = given[cls.setting_name]
    if setting is None:
        setting = cls.saved_setting(config)
    if setting is None and cls.name == config.exit_rule and uncertified(config):
        if cls.name not in _said_uncertified:
            _said_uncertified.add(cls.name)
            logger.warning(
                f"The sweep certified no setting of the {cls.name} rule: every example answers from the last layer."
            )
        return FinalLayer(cls.name, config.num_hidden_layers)
    if setting is None:
        if config.exit_threshold is not None:  # calibrated for another rule: its scale means nothing here
            raise ValueError(
                f"{cls.setting_name}: the {cls.name!r} rule needs a {cls.setting_name} of its own; "
                f"config.exit_threshold is the {config.exit_rule!r} rule's operating point."
            )
        raise ValueError(
            f"{cls.setting_name}: the {cls.name!r} rule needs a {cls.setting_name} and config.exit_threshold is not "
            "set."
        )
    return cls(setting, config.num_hidden_layers)


def replay_exits(
    exit_rule: ExitRule, exit_logits: torch.Tensor, certainties: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Replays `exit_rule` over a recorded pass through every layer: each example's 1-based exit layer `(batch,)`
    and its answer there `(batch, labels)`. The model serving with labels, the metrics, the sweep, the experiments
    and the benchmark all replay through here, and it agrees with `early_exit_forward`.

    `exit_logits` is `(batch, layers, labels)` and `certainties` `(batch, layers)`, as `forward` returns them.
    """
    torch = _torch()
    batch, num_layers = certainties.shape
    exit_layers = torch.zeros(batch, dtype=torch.long, device=certainties.device)  # (batch,), 0: not yet
    for layer in range(num_layers):
        # Every example is shown every layer so that per-example state (patience) stays aligned.
        stops = exit_rule.decide(layer, exit_logits[:, layer], certainties[:, layer]) & (exit_layers == 0)
        exit_layers[stops] = layer + 1
    rows = torch.arange(batch, device=certainties.device)
    return exit_layers, exit_logits[rows, exit_layers - 1]
