"""Speed-accuracy curves replayed from an `ExitRecord`: every setting of every rule costs one replay, no forward."""

from __future__ import annotations

import numpy as np
import torch

from ..modeling_berxit.exit_rules import make_exit_rule, replay_exits
from .metrics import task_metrics
from .records import ExitRecord

THRESHOLDS = [round(float(value), 2) for value in np.linspace(0.0, 1.0, 101)]


def rules_for(config) -> list[str]:
    """Entropy and patience need class probabilities; regression has only the certainty rule."""
    return ["certainty"] if config.is_regression else ["certainty", "entropy", "patience"]


def settings_for(rule: str, num_layers: int) -> list[float] | list[int]:
    """The thresholds 0.00..1.00 of the certainty and entropy rules, or the patiences 1..L-1."""
    return list(range(1, num_layers)) if rule == "patience" else THRESHOLDS


def evaluate_setting(config, record: ExitRecord, rule: str | None, setting=None) -> dict:
    """Metrics, average exit layer, saved layers and ideal speed-up of one rule setting (`rule=None`: final)."""
    num_layers = record.num_layers
    if rule is None:
        exit_layers = torch.full((len(record.labels),), num_layers)  # (examples,)
        answers = record.exit_logits[:, -1]  # (examples, labels)
    else:
        keyword = "patience" if rule == "patience" else "threshold"
        exit_rule = make_exit_rule(config, rule, **{keyword: setting})
        exit_layers, answers = replay_exits(exit_rule, record.exit_logits, record.certainties)
    average = float(exit_layers.float().mean())
    return {
        "rule": rule or "final layer",
        "setting": setting,
        **task_metrics(answers, record.labels, config.is_regression),
        "avg_exit_layer": average,
        "saved_layers": 1.0 - average / num_layers,
        "ideal_speedup": num_layers / average,
    }


def curve(config, record: ExitRecord, rule: str) -> list[dict]:
    """`evaluate_setting` at every setting of `rule`."""
    return [evaluate_setting(config, record, rule, setting) for setting in settings_for(rule, record.num_layers)]
