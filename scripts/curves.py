"""Speed-accuracy curves replayed from an `ExitRecord`, and the operating point chosen on them."""

from __future__ import annotations

import numpy as np
import torch

from ..modeling_berxit.exit_rules import answers_at, make_exit_rule, replay_exit_layers
from ..trainer.metrics import task_metrics
from .records import ExitRecord

THRESHOLDS = [round(float(value), 2) for value in np.linspace(0.0, 1.0, 101)]


def rules_for(config) -> list[str]:
    """Entropy and patience need class probabilities; regression has only the certainty rule."""
    return ["certainty"] if config.is_regression else ["certainty", "entropy", "patience"]


def settings_for(rule: str, num_layers: int) -> list[float] | list[int]:
    return list(range(1, num_layers)) if rule == "patience" else THRESHOLDS


def point(config, record: ExitRecord, rule: str | None, setting=None) -> dict:
    """Metrics, average exit layer, saved layers and ideal speed-up of one rule setting (`rule=None`: final)."""
    num_layers = record.num_layers
    if rule is None:
        exit_layers = torch.full((len(record.labels),), num_layers)
    else:
        keyword = "patience" if rule == "patience" else "threshold"
        exit_layers = replay_exit_layers(
            make_exit_rule(config, rule, **{keyword: setting}), record.exit_logits, record.certainties
        )
    answers = answers_at(record.exit_logits, exit_layers)
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
    return [point(config, record, rule, setting) for setting in settings_for(rule, record.num_layers)]


def within_drop(value: float, reference: float, max_drop: float) -> bool:
    """Whether `value` is at most `max_drop` points below `reference` (both fractions), float noise forgiven."""
    return value >= reference - max_drop / 100.0 - 1e-12


def choose_operating_point(points: list[dict], final: dict, metric: str, max_drop: float) -> dict:
    """The setting that saves the most layers while `metric` stays within `max_drop` points of the final layer."""
    allowed = [p for p in points if within_drop(p[metric], final[metric], max_drop)]
    if not allowed:  # even the strictest setting costs more: take the most accurate one
        return max(points, key=lambda p: (p[metric], -p["saved_layers"]))
    # Ties go to the more conservative (higher) setting, the safer choice on unseen data.
    return max(allowed, key=lambda p: (p["saved_layers"], p[metric], p["setting"]))
