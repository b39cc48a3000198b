"""A task as train/validation/test splits, and the split helpers every source uses: a seeded hold-out, the
fingerprint that ties a run to its examples, the regression target's mean.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
from datasets import Dataset, DatasetDict

SPLIT_SEED = 42


@dataclass
class TaskData:
    """A task ready for training: splits with `text`, optional `text_pair`, and `label` columns."""

    name: str
    splits: DatasetDict
    num_labels: int
    label_names: list[str] | None
    metric: str
    labels_rule: str = ""  # how the task type and classes were decided, for the user to read
    dropped_duplicates: dict[str, int] | None = None  # validation and test examples dropped as copies of train

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1


def hold_out(split: Dataset, fraction: float) -> tuple[Dataset, Dataset]:
    """Splits off a fixed, seeded `fraction` of `split`: (rest, held out)."""
    parts = split.train_test_split(test_size=fraction, seed=SPLIT_SEED, shuffle=True)
    return parts["train"], parts["test"]


def split_fingerprints(splits: DatasetDict) -> dict[str, str]:
    """The SHA-256 of each split's texts and labels, in order: ties a run to the exact examples it was trained,
    validated and tested on."""
    fingerprints = {}
    for name, split in splits.items():
        columns = {column: split[column] for column in ("text", "text_pair", "label") if column in split.column_names}
        content = json.dumps(columns, ensure_ascii=False, sort_keys=True, default=str)
        fingerprints[name] = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return fingerprints


def label_mean(split: Dataset) -> float:
    """The mean regression target of a split: where a regression model's outputs should start."""
    return float(np.mean(np.asarray(split["label"], dtype=np.float64)))
