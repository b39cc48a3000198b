"""Choosing an operating point: on the calibration examples (the validation split, or a user's own texts), the
setting that saves the most layers among those that keep the promise (`risk_control`); then what it does on test,
with a bootstrap interval. The sweep, the metrics, the experiments and the report all decide this here."""

from __future__ import annotations

import math

from .curves import curve, evaluate_setting, replay_setting
from .metrics import task_metrics
from .records import ExitRecord
from .risk_control import Promise, bootstrap_interval, certified_settings, example_losses, upper_bound


def within_drop(value: float, reference: float, max_drop: float) -> bool:
    """Whether `value` is at most `max_drop` points below `reference` (both fractions), float noise forgiven."""
    return value >= reference - max_drop / 100.0 - 1e-12


def most_saved_within(points: list[dict], reference: float, metric: str, max_drop: float) -> float | None:
    """The most layers any of `points` saves while its `metric` stays within `max_drop` points of `reference`: the
    curve view of a rule (no guarantee; pass the final layer among the points to count it). None if none does."""
    allowed = [p["saved_layers"] for p in points if within_drop(p[metric], reference, max_drop)]
    return max(allowed) if allowed else None


def largest_within_drop(points: list[dict], final: dict, metric: str, max_drop: float) -> dict:
    """The setting that saves the most layers while its `metric` estimate stays within `max_drop` points of the
    final layer's (the `largest_within_drop` chooser: no guarantee)."""
    allowed = [p for p in points if within_drop(p[metric], final[metric], max_drop)]
    if not allowed:  # even the strictest setting costs more: take the most accurate one
        return max(points, key=lambda p: (p[metric], -p["saved_layers"]))
    # Ties go to the more conservative (higher) setting, the safer choice on unseen data.
    return max(allowed, key=lambda p: (p["saved_layers"], p[metric], p["setting"]))


def choose_operating_point(config, calibration: ExitRecord, rule: str, metric: str, promise: Promise) -> dict:
    """One rule's operating point on `calibration`: the chosen point of the rule's curve (`setting` None where
    nothing is certified: the final layer answers), with `certified` and the certified `bound` on the risk."""
    if promise.chooser == "largest_within_drop":
        final = evaluate_setting(config, calibration, None)
        chosen = largest_within_drop(curve(config, calibration, rule), final, metric, 100 * promise.epsilon)
        return {**chosen, "certified": None, "bound": None}
    certified = certified_settings(config, calibration, rule, promise)
    if not certified:
        return {**evaluate_setting(config, calibration, None), "rule": rule, "certified": False, "bound": None}
    # Only the certified settings are replayed again; the most layers saved wins, ties go to the safer (first).
    chosen = max((evaluate_setting(config, calibration, rule, s) for s in certified), key=lambda p: p["saved_layers"])
    bound = upper_bound(example_losses(config, calibration, rule, chosen["setting"], promise.risk), promise.delta)
    return {**chosen, "certified": True, "bound": bound}


def find_operating_point(
    config,
    records: dict[str, ExitRecord],
    rule: str,
    metric: str,
    promise: Promise,
    calibration: ExitRecord | None = None,
) -> dict:
    """One rule's operating point, chosen on the calibration examples (`calibration`, e.g. a user's unlabelled
    texts; default `records["validation"]`) and measured on `records["test"]`.

    Returns the final layer on each labelled split (`final`), the rule's curve there (`curves`), the point chosen
    (`chosen`, see `choose_operating_point`) and that setting on test (`on_test`, with a bootstrap interval of the
    metric and of its drop from the final layer, and the realised risk).
    """
    labelled = {split: record for split, record in records.items() if record.labels is not None}
    finals = {split: evaluate_setting(config, record, None) for split, record in labelled.items()}
    for split, final in finals.items():
        if not math.isfinite(final[metric]):
            raise ValueError(
                f"dataset: the final layer's {metric} on the {split} split is {final[metric]} (constant labels?); "
                "no operating point can be chosen from it."
            )
    curves = {split: curve(config, record, rule) for split, record in labelled.items()}
    calibration = records["validation"] if calibration is None else calibration
    chosen = choose_operating_point(config, calibration, rule, metric, promise)
    test = records["test"]
    on_test = {**evaluate_setting(config, test, rule, chosen["setting"]), "rule": rule}
    on_test.update(test_intervals(config, test, rule, chosen["setting"], metric, promise.confidence))
    on_test["risk"] = float(example_losses(config, test, rule, chosen["setting"], promise.risk).mean())
    return {"final": finals, "curves": curves, "chosen": chosen, "on_test": on_test}


def test_intervals(config, record: ExitRecord, rule: str, setting, metric: str, confidence: float) -> dict:
    """Bootstrap intervals (at `confidence`) of the metric at `setting` and of its drop from the final layer."""
    _, answers = replay_setting(config, record, rule, setting)  # (examples, labels)
    final = record.exit_logits[:, -1]  # (examples, labels)

    def score(logits, rows):
        return task_metrics(logits[rows], record.labels[rows], config.is_regression)[metric]

    size = len(record)
    return {
        f"{metric}_interval": bootstrap_interval(lambda rows: score(answers, rows), size, confidence),
        "drop_interval": bootstrap_interval(lambda rows: score(final, rows) - score(answers, rows), size, confidence),
    }
