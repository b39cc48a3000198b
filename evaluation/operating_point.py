"""Choosing an operating point: on validation, the setting that saves the most layers within the allowed drop;
then what it does on test. The sweep, the experiments and the report all decide this here."""

from __future__ import annotations

import math

from .curves import curve, evaluate_setting
from .records import ExitRecord


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


def find_operating_point(config, records: dict[str, ExitRecord], rule: str, metric: str, max_drop: float) -> dict:
    """One rule's operating point, chosen on `records["validation"]` and measured on `records["test"]`.

    Returns the final layer on both splits (`final`), the rule's curve on both (`curves`), the point chosen on
    validation (`chosen`) and that setting on test (`on_test`).
    """
    finals = {split: evaluate_setting(config, record, None) for split, record in records.items()}
    for split, final in finals.items():
        if not math.isfinite(final[metric]):
            raise ValueError(
                f"dataset: the final layer's {metric} on the {split} split is {final[metric]} (constant labels?); "
                "no operating point can be chosen from it."
            )
    curves = {split: curve(config, record, rule) for split, record in records.items()}
    chosen = choose_operating_point(curves["validation"], finals["validation"], metric, max_drop)
    on_test = evaluate_setting(config, records["test"], rule, chosen["setting"])
    return {"final": finals, "curves": curves, "chosen": chosen, "on_test": on_test}
