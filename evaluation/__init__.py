"""Evaluating early exit: task metrics, one recorded pass per split, curves replayed from it, and the operating
point certified on the calibration examples (Learn then Test) and measured on test."""

from ..exit_rules.rules import rules_for
from .curves import curve, evaluate_setting, settings_for
from .metrics import task_metrics
from .operating_point import choose_operating_point, find_operating_point, largest_within_drop, within_drop
from .records import ExitRecord, record_exits
from .risk_control import Promise, certified_settings, example_losses

__all__ = [
    "task_metrics",
    "ExitRecord",
    "record_exits",
    "rules_for",
    "settings_for",
    "evaluate_setting",
    "curve",
    "within_drop",
    "largest_within_drop",
    "Promise",
    "example_losses",
    "certified_settings",
    "choose_operating_point",
    "find_operating_point",
]
