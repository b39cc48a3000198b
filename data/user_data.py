"""A user's data: a CSV/TSV/JSON(L) file or a Hub dataset with the text, text-pair and label columns named, as a
task (splits it has are kept, missing ones held out of train), and the texts of a file to predict or calibrate on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset, DatasetDict, get_dataset_split_names, load_dataset

from .input_files import is_data_file, open_data_file, read_table, table_dataset
from .labels import resolve_labels
from .splits import TaskData, hold_out

MIN_TRAIN_EXAMPLES = 20


def is_local_data(dataset: str) -> bool:
    """Whether `dataset` names something on disk (a data file by its suffix, or any existing path), not a Hub id."""
    return is_data_file(dataset) or Path(dataset).exists()


def load_file_or_hub_dataset(
    dataset: str,
    text_column: str,
    text_pair_column: str | None,
    *,
    label_column: str,
    num_labels: int | None,
    validation_fraction: float,
    task_type: str | None = None,
) -> TaskData:
    """A CSV/JSON(L)/TSV file or a Hub dataset; splits it has are kept, missing ones are held out of train."""
    wanted = {text_column: "text", label_column: "label"}
    if text_pair_column:
        wanted[text_pair_column] = "text_pair"
    named = [("text_column", text_column), ("label_column", label_column), ("text_pair_column", text_pair_column)]
    for index, (argument, column) in enumerate(named):
        for other, other_column in named[index + 1 :]:
            if column is not None and column == other_column:
                raise ValueError(f"{other}: {column!r} is also the {argument}; each role needs its own column.")
    role = {text_column: "text_column", label_column: "label_column", text_pair_column: "text_pair_column"}
    loaded = read_dataset(dataset, role)
    if "train" not in loaded:
        raise ValueError(f"dataset: {dataset} has no 'train' split (it has {sorted(loaded)}).")
    for name, split in loaded.items():
        check_columns(split, role, dataset, name)
    loaded = DatasetDict(
        {name: split.select_columns(list(wanted)).rename_columns(wanted) for name, split in loaded.items()}
    )

    train = loaded["train"]
    if len(train) < MIN_TRAIN_EXAMPLES:
        raise ValueError(
            f"dataset: {dataset} has {len(train)} training examples; berxit needs at least {MIN_TRAIN_EXAMPLES} to "
            "train, validate and test on (held-out splits of fewer say nothing)."
        )
    test = loaded.get("test") if "test" in loaded and _labelled(loaded["test"]) else None
    validation = loaded.get("validation")
    if test is None and validation is not None:
        test, validation = validation, None
    if test is None:
        train, test = hold_out(train, validation_fraction)
    if validation is None:
        train, validation = hold_out(train, validation_fraction)
    splits = DatasetDict({"train": train, "validation": validation, "test": test})
    splits, found, names, rule = resolve_labels(splits, label_column, num_labels, task_type)
    name = Path(dataset).name if is_local_data(dataset) else dataset  # a file by its name: no local path
    return TaskData(name, splits, found, names, "spearman" if found == 1 else "accuracy", rule)


def read_dataset(dataset: str, role: dict[str | None, str], argument: str = "dataset") -> DatasetDict:
    """The columns of `role` ({column: argument naming it}) of a local data file, read as written (one `train`
    split), or a Hub dataset id as `datasets` loads it."""
    if not is_local_data(dataset):
        return load_dataset(dataset)
    columns, rows = read_table(Path(dataset), argument)
    missing = [column for column in role if column is not None and column not in columns]
    if missing:
        named = ", ".join(f"{role[column]}={column!r}" for column in missing)
        raise ValueError(f"{named}: no such column in {dataset}; it has {columns}.")
    label_column = next((column for column, name in role.items() if name == "label_column"), None)
    return DatasetDict({"train": table_dataset(rows, [c for c in role if c is not None], label_column)})


def check_columns(
    split: Dataset, role: dict[str | None, str], dataset: str, name: str, argument: str = "dataset"
) -> None:
    """Every column of `role` ({column: argument naming it}; None: not asked for) is in `split`, the split has
    rows, and the text columns hold text in every row."""
    wanted = [column for column in role if column is not None]
    missing = [column for column in wanted if column not in split.column_names]
    if missing:
        named = ", ".join(f"{role[column]}={column!r}" for column in missing)
        raise ValueError(f"{named}: no such column in {dataset}'s {name} split; it has {split.column_names}.")
    if len(split) == 0:
        raise ValueError(f"{argument}: the {name} split of {dataset} has no rows.")
    for column in wanted:
        if role[column].startswith("text"):
            check_texts(split[column], f"{role[column]}={column!r}", f"{dataset}'s {name} split")


def check_texts(texts: Iterable, argument: str, where: str) -> None:
    """Every entry is a text with something in it (`123` and `NA` are texts; an empty cell or a JSON null is not);
    the first ten that are not are named."""
    empty = list(
        itertools.islice((row for row, text in enumerate(texts) if not isinstance(text, str) or not text.strip()), 10)
    )
    if empty:
        raise ValueError(f"{argument}: rows {empty} of {where} hold no text.")


@dataclass
class TextRows:
    """Rows to predict, read as they come: their columns, their number where known (None for a Hub stream), what
    identifies them (for a resumed run to check it reads the same input) and, on each iteration, the rows as given
    (every column, for passing through)."""

    columns: list[str]
    num_rows: int | None
    identity: dict
    rows: Iterable[dict]

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)


def open_texts(
    dataset: str, text_column: str, text_pair_column: str | None = None, argument: str = "input"
) -> TextRows:
    """The rows of a file (read as it goes; its text columns checked in a first pass), or of a Hub dataset's test
    split (else its only split), streamed."""
    if text_pair_column is not None and text_pair_column == text_column:
        raise ValueError(
            f"text_pair_column: {text_pair_column!r} is also the text_column; each role needs its own column."
        )
    role = {text_column: "text_column"} | ({} if text_pair_column is None else {text_pair_column: "text_pair_column"})
    if is_local_data(dataset):
        table = open_data_file(Path(dataset), argument)
        stat = Path(dataset).stat()
        identity = {"file": str(Path(dataset).resolve()), "size": stat.st_size, "modified_ns": stat.st_mtime_ns}
        texts = TextRows(table.columns, table.num_rows, identity, table)
    else:
        names = get_dataset_split_names(dataset)
        name = "test" if "test" in names else names[0] if len(names) == 1 else None
        if name is None:
            raise ValueError(
                f"{argument}: {dataset} has the splits {sorted(names)}; predictions read 'test' or a single split."
            )
        stream = load_dataset(dataset, split=name, streaming=True)
        columns = stream.column_names or list(next(iter(stream), {}))
        split = (stream.info.splits or {}).get(name)
        texts = TextRows(columns, split.num_examples if split else None, {"dataset": dataset, "split": name}, stream)
    for column, role_name in role.items():
        if column not in texts.columns:
            raise ValueError(f"{role_name}={column!r}: no such column in {dataset}; it has {texts.columns}.")
    if is_local_data(dataset):  # a Hub stream is checked as it is predicted
        for column, role_name in role.items():
            check_texts((row.get(column) for row in texts), f"{role_name}={column!r}", dataset)
    return texts


def read_texts(
    dataset: str, text_column: str, text_pair_column: str | None = None, argument: str = "input"
) -> tuple[list[str], list[dict]]:
    """`open_texts`, all in memory: the column names and the rows."""
    texts = open_texts(dataset, text_column, text_pair_column, argument)
    return texts.columns, list(texts)


def _labelled(split: Dataset) -> bool:
    """GLUE-style test splits on the Hub carry label -1 everywhere."""
    return len(split) > 0 and any(label != -1 for label in split["label"])
