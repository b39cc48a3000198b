"""Calibration data that does not leak: an example of validation or test whose text also occurs in train tells
nothing about new inputs (the model has fitted its answer), so it is dropped before any operating point is chosen
or any result reported."""

from __future__ import annotations

from datasets import Dataset, DatasetDict

CHECKED_SPLITS = ("validation", "test")


def text_key(text: str, text_pair: str | None = None) -> tuple[str, str | None]:
    """What makes two examples the same input: their texts, case and runs of white space aside."""

    def normal(value):
        return None if value is None else " ".join(value.split()).casefold()

    return normal(text), normal(text_pair)


def split_keys(split: Dataset) -> list[tuple[str, str | None]]:
    pairs = split["text_pair"] if "text_pair" in split.column_names else [None] * len(split)
    return [text_key(text, pair) for text, pair in zip(split["text"], pairs, strict=True)]


def drop_train_duplicates(splits: DatasetDict) -> tuple[DatasetDict, dict[str, int]]:
    """`splits` without the validation and test examples whose input also occurs in train, and how many each lost."""
    seen = set(split_keys(splits["train"]))
    kept, dropped = dict(splits), {}
    for name in CHECKED_SPLITS:
        keys = split_keys(splits[name])
        rows = [row for row, key in enumerate(keys) if key not in seen]
        dropped[name] = len(keys) - len(rows)
        if dropped[name]:
            kept[name] = splits[name].select(rows)
    return DatasetDict(kept), dropped
