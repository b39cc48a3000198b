"""How the labels of a file or Hub dataset become a task: classification or regression, and which classes.

The rules are stated here, printed at the start of training and overridable (`task_type`, `num_labels`), so a
label column is never guessed wrong in silence.
"""

from __future__ import annotations

import math

from datasets import ClassLabel, DatasetDict, Value


def resolve_labels(
    splits: DatasetDict, label_column: str, num_labels: int | None, task_type: str | None
) -> tuple[DatasetDict, int, list[str] | None, str]:
    """Decides the task type and the classes by stated rules; returns the splits with `label` as class ids
    (or floats), the number of labels (1: regression), the class names and the rule that was applied.

    - a `ClassLabel` column keeps its classes;
    - `task_type` says classification or regression; without it, strings and whole numbers (`1`, `1.0`) are
      classes and numbers with a fraction are regression targets;
    - classes are the sorted distinct values, numbered 0..n-1, their names kept (`{1, 2}` is two classes named
      "1" and "2"); with `num_labels` given, whole-number labels are the class ids themselves, in [0, num_labels).
    """
    argument = f"label_column={label_column!r}"
    values = [value for split in splits.values() for value in split["label"]]
    blank = [row for row, value in enumerate(values) if value is None or (isinstance(value, float) and value != value)]
    if blank:
        raise ValueError(f"{argument}: {len(blank)} label cell(s) are empty; every example needs a label.")
    feature = splits["train"].features["label"]
    if isinstance(feature, ClassLabel):
        if task_type == "regression":
            raise ValueError("task_type: the dataset declares class labels; it cannot be regression.")
        names = list(feature.names)
        return splits, _checked_classes(names, num_labels), names, f"{len(names)} classes declared by the dataset"
    numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values)
    if task_type == "regression" or (task_type is None and numeric and any(float(v) % 1 for v in values)):
        if not numeric:
            raise ValueError(f"{argument}: regression needs numeric labels; this column holds text.")
        if not all(math.isfinite(float(value)) for value in values):
            raise ValueError(f"{argument}: regression labels must be finite numbers.")
        if num_labels not in (None, 1):
            raise ValueError(f"num_labels: regression has one output, got num_labels={num_labels}.")
        why = "task_type=regression" if task_type else "numeric labels with fractions"
        return splits.cast_column("label", Value("float32")), 1, None, f"regression ({why})"
    if numeric and any(float(v) % 1 for v in values):
        raise ValueError(f"{argument}: classification needs whole-number or text labels; some have fractions.")
    if numeric and num_labels is not None:
        ids = sorted({int(value) for value in values})
        if ids[0] < 0 or ids[-1] >= num_labels:
            raise ValueError(f"num_labels: {num_labels} given, but the labels lie outside [0, {num_labels}).")
        splits = splits.map(lambda row: {"label": int(row["label"])}).cast_column("label", Value("int64"))
        names = [str(index) for index in range(num_labels)]
        return splits, _checked_classes(names, num_labels), None, f"{num_labels} classes: the labels are class ids"
    distinct = sorted({int(value) if numeric else str(value) for value in values})
    names = [str(value) for value in distinct]
    index = {value: position for position, value in enumerate(distinct)}
    splits = splits.map(lambda row: {"label": index[int(row["label"]) if numeric else str(row["label"])]})
    splits = splits.cast_column("label", ClassLabel(names=names))
    kind = "whole numbers" if numeric else "text"
    rule = f"{len(names)} classes ({kind}, numbered in sorted order): {names}"
    return splits, _checked_classes(names, num_labels), names, rule


def _checked_classes(names: list[str], num_labels: int | None) -> int:
    if len(names) < 2 and num_labels is None:
        raise ValueError(
            f"label_column: only one class ({names}) in the data; a classifier needs at least two (or pass "
            "--task_type regression for numeric targets)."
        )
    if num_labels is not None and num_labels != len(names):
        raise ValueError(f"num_labels: {num_labels} given, but the data has {len(names)} classes: {names}.")
    return len(names)
