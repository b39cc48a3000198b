"""Learn then Test (Angelopoulos, Bates, Candès, Jordan and Lei, 2021): operating points with a guarantee.

The user states the risk they accept, ε, and a confidence 1 - δ. Every setting of a rule is the hypothesis "its
risk exceeds ε". Walking the settings from the safest to the most eager to exit, each is tested with a p-value on
the calibration examples and certified while p <= δ; the first failure ends the walk (fixed-sequence testing, so no
correction for the number of settings is needed). With probability at least 1 - δ over the draw of the calibration
examples, every certified setting has risk <= ε on new examples from the same distribution. Choosing the
certified setting that saves the most layers keeps that promise; choosing the setting whose calibration estimate
sits just under the limit (`largest_within_drop`) breaks it about as often as it keeps it.

The risks, one loss in [0, 1] per example, averaged over examples:

- `harm` (needs labels). Classes: the final layer is right and the exit wrong; it bounds the drop of accuracy,
  which is harm minus the share the exit gets right and the final layer wrong. Regression: how much the exit's
  absolute error exceeds the final layer's, in units of the calibration labels' range (at most 1); it bounds the
  rise of the mean absolute error in those units, not the drop of a correlation. ε is given in points.
- `consistency` (needs no labels, so it calibrates on a user's own traffic). Classes: the exit answers another
  class than the final layer would. Regression: the distance between the two answers, in units of the range of
  the final layer's answers on the calibration examples (at most 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..exit_rules.rules import exit_rule_class
from .curves import replay_setting
from .records import ExitRecord

RISKS = ("harm", "consistency")
CHOOSERS = ("learn_then_test", "largest_within_drop")


@dataclass(frozen=True)
class Promise:
    """What an operating point promises: `risk` <= `epsilon` (a share: 1 point is 0.01) with probability
    `confidence`, certified by `chooser` on the calibration examples. `largest_within_drop` (the chooser before
    Learn then Test) promises nothing: it keeps the setting whose calibration estimate is within ε."""

    risk: str = "harm"
    epsilon: float = 0.01
    confidence: float = 0.9
    chooser: str = "learn_then_test"

    def __post_init__(self):
        if self.risk not in RISKS:
            raise ValueError(f"risk: expected one of {RISKS}, got {self.risk!r}.")
        if self.chooser not in CHOOSERS:
            raise ValueError(f"chooser: expected one of {CHOOSERS}, got {self.chooser!r}.")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon: expected a share in [0, 1], got {self.epsilon}.")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence: expected a probability in (0, 1), got {self.confidence}.")
        if self.chooser == "largest_within_drop" and self.risk != "harm":
            raise ValueError(
                "chooser: largest_within_drop compares the metric with the final layer's; it needs labels."
            )

    @property
    def delta(self) -> float:
        return 1.0 - self.confidence

    def statement(self, is_regression: bool) -> str:
        """The promise in one sentence, for the sweep's summary and the model card."""
        if self.chooser == "largest_within_drop":
            return (
                f"the setting saving the most layers whose calibration metric is within {100 * self.epsilon:g} "
                "point(s) of the final layer's (an estimate, with no guarantee on new data)"
            )
        what = {
            ("harm", False): "examples the final layer gets right and the exit gets wrong (which bounds the drop of "
            "accuracy)",
            ("harm", True): "the exit's absolute error above the final layer's, in units of the label range",
            ("consistency", False): "examples whose early answer differs from the final layer's",
            ("consistency", True): "the distance of the early answer from the final layer's, in units of its range",
        }[self.risk, is_regression]
        return (
            f"with probability {self.confidence:g} over the calibration draw, on new examples from the same "
            f"distribution, {what}: at most {100 * self.epsilon:g}% (Learn then Test, fixed-sequence, "
            "binomial / Hoeffding-Bentkus p-values)"
        )


def example_losses(config, record: ExitRecord, rule: str, setting, risk: str) -> np.ndarray:
    """Each example's loss in [0, 1] `(examples,)` at one setting of `rule`, for `risk` (see the module)."""
    _, answers = replay_setting(config, record, rule, setting)  # (examples, labels)
    final = record.exit_logits[:, -1]  # (examples, labels)
    if risk == "harm" and record.labels is None:
        raise ValueError("risk: harm needs labelled calibration examples; consistency needs none.")
    if config.is_regression:
        answers, final = answers[:, 0].double(), final[:, 0].double()  # (examples,)
        if risk == "harm":
            labels = record.labels.double()
            scale = _spread(labels)
            losses = ((answers - labels).abs() - (final - labels).abs()) / scale
        else:
            losses = (answers - final).abs() / _spread(final)
        return losses.clamp(0.0, 1.0).numpy()
    exit_class, final_class = answers.argmax(-1), final.argmax(-1)  # (examples,)
    if risk == "harm":
        losses = (final_class == record.labels) & (exit_class != record.labels)
    else:
        losses = exit_class != final_class
    return losses.double().numpy()


def _spread(values: torch.Tensor) -> float:
    spread = float(values.max() - values.min())
    return spread if spread > 0 else 1.0


def p_value(losses: np.ndarray, epsilon: float) -> float:
    """A valid p-value for "the mean loss exceeds ε": exact binomial for 0/1 losses, Hoeffding-Bentkus for
    losses in [0, 1]."""
    from scipy.stats import binom

    n, mean = len(losses), float(np.mean(losses))
    if epsilon >= 1.0:
        return 0.0
    if epsilon <= 0.0 or mean >= epsilon:
        return 1.0
    if np.all((losses == 0) | (losses == 1)):
        return float(binom.cdf(round(mean * n), n, epsilon))
    divergence = mean * math.log(mean / epsilon) if mean > 0 else 0.0
    divergence += (1 - mean) * math.log((1 - mean) / (1 - epsilon))
    return min(math.exp(-n * divergence), math.e * float(binom.cdf(math.ceil(n * mean), n, epsilon)))


def upper_bound(losses: np.ndarray, delta: float) -> float:
    """The smallest ε that `losses` certify at level δ: a 1 - δ upper confidence bound on the mean loss."""
    low, high = float(np.mean(losses)), 1.0
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (low, middle) if p_value(losses, middle) <= delta else (middle, high)
    return high


def certified_settings(config, record: ExitRecord, rule: str, promise: Promise) -> list:
    """The settings of `rule` that fixed-sequence testing certifies on `record`, safest first."""
    certified = []
    for setting in reversed(exit_rule_class(rule).settings(record.num_layers)):  # the safest first
        if p_value(example_losses(config, record, rule, setting, promise.risk), promise.epsilon) > promise.delta:
            break
        certified.append(setting)
    return certified


def bootstrap_interval(
    values: Callable[[torch.Tensor], float], size: int, confidence: float, resamples: int = 1000
) -> list[float]:
    """The percentile bootstrap interval at `confidence` of `values(rows)`, a statistic of resampled rows."""
    generator = torch.Generator().manual_seed(0)
    draws = [values(torch.randint(size, (size,), generator=generator)) for _ in range(resamples)]
    tail = 100 * (1 - confidence) / 2
    return [float(np.nanpercentile(draws, tail)), float(np.nanpercentile(draws, 100 - tail))]
