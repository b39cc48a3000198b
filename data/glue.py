"""GLUE RTE, MRPC, STS-B and SST-2: from local TSVs (`glue_dir/<TASK>/{train,dev}.tsv`) or from the Hub
(`nyu-mll/glue`). GLUE's dev split is the test split and validation is held out of train; SST-2's train holds
phrases of sentences, so phrases held out of it leak (73% occur inside a training phrase): a seeded half of its dev
sentences is validation, the other half test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset, DatasetDict, load_dataset

from .splits import TaskData, hold_out

GLUE_HUB_ID = "nyu-mll/glue"


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
