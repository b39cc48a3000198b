"""Speed-accuracy curves replayed from an `ExitRecord`: every setting of every rule costs one replay, no forward."""

from __future__ import annotations

import torch

from ..exit_rules.rules import build_exit_rule, exit_rule_class, replay_exits
from .metrics import depth_metrics, task_metrics
from .records import ExitRecord


def settings_for(rule: str, num_layers: int) -> list[float] | list[int]:
    """Every setting a sweep of `rule` replays: the thresholds of `THRESHOLDS`, or the patiences 1..L-1."""
    return exit_rule_class(rule).settings(num_layers)


def replay_setting(config, record: ExitRecord, rule: str | None, setting=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Each example's 1-based exit layer `(examples,)` and answer `(examples, labels)` at one rule setting;
    `rule=None` or `setting=None` (nothing certified): the final layer."""
    if rule is None or setting is None:
        exit_layers = torch.full((len(record),), record.num_layers)  # (examples,)
        return exit_layers, record.exit_logits[:, -1]  # (examples, labels)
    return replay_exits(build_exit_rule(config, rule, setting), record.exit_logits, record.certainties)


def evaluate_setting(config, record: ExitRecord, rule: str | None, setting=None) -> dict:
    """Metrics (where the record has labels), average exit layer, saved layers and ideal speed-up of one rule
    setting (`rule=None`: the final layer)."""
    exit_layers, answers = replay_setting(config, record, rule, setting)
    metrics = {} if record.labels is None else task_metrics(answers, record.labels, config.is_regression)
    return {
        "rule": rule or "final layer",
        "setting": setting,
        **metrics,
        **depth_metrics(exit_layers, record.num_layers),
    }


def static_depth_curve(per_exit: list[dict]) -> list[dict]:
    """The baseline any user gets by truncating the model: every example answered at exit k, as one curve point per
    k (`per_exit[k - 1]` holds exit k's metrics), so a rule's curve can be read against it."""
    layers = len(per_exit)
    return [
        {**metrics, "rule": "static depth", "setting": k, "avg_exit_layer": float(k), "saved_layers": 1 - k / layers}
        for k, metrics in enumerate(per_exit, start=1)
    ]


def curve(config, record: ExitRecord, rule: str) -> list[dict]:
    """`evaluate_setting` at every setting of `rule`."""
    return [evaluate_setting(config, record, rule, setting) for setting in settings_for(rule, record.num_layers)]
