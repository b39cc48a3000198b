"""Evaluating early exit: task metrics, one recorded pass per split, curves replayed from it, and the operating
point chosen on validation and measured on test."""

from ..exit_rules.exit_rules import rules_for
from .curves import curve, evaluate_setting, settings_for
from .metrics import task_metrics
from .operating_point import choose_operating_point, find_operating_point, within_drop
from .records import ExitRecord, record_exits

__all__ = [
    "task_metrics",
    "ExitRecord",
    "record_exits",
    "rules_for",
    "settings_for",
    "evaluate_setting",
    "curve",
    "within_drop",
    "choose_operating_point",
    "find_operating_point",
]
