"""Speed-accuracy curves replayed from an `ExitRecord`: every setting of every rule costs one replay, no forward."""

from __future__ import annotations

import torch

from ..exit_rules.exit_rules import build_exit_rule, exit_rule_class, replay_exits
from .metrics import depth_metrics, task_metrics
from .records import ExitRecord


def settings_for(rule: str, num_layers: int) -> list[float] | list[int]:
    """Every setting a sweep of `rule` replays: the thresholds 0.00..1.00, or the patiences 1..L-1."""
    return exit_rule_class(rule).settings(num_layers)


def evaluate_setting(config, record: ExitRecord, rule: str | None, setting=None) -> dict:
    """Metrics, average exit layer, saved layers and ideal speed-up of one rule setting (`rule=None`: final)."""
    num_layers = record.num_layers
    if rule is None:
        exit_layers = torch.full((len(record.labels),), num_layers)  # (examples,)
        answers = record.exit_logits[:, -1]  # (examples, labels)
    else:
        exit_rule = build_exit_rule(config, rule, setting)
        exit_layers, answers = replay_exits(exit_rule, record.exit_logits, record.certainties)
    return {
        "rule": rule or "final layer",
        "setting": setting,
        **task_metrics(answers, record.labels, config.is_regression),
        **depth_metrics(exit_layers, num_layers),
    }


def curve(config, record: ExitRecord, rule: str) -> list[dict]:
    """`evaluate_setting` at every setting of `rule`."""
    return [evaluate_setting(config, record, rule, setting) for setting in settings_for(rule, record.num_layers)]
