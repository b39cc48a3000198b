"""The tasks as splits: the packaged reviews' fixed split, GLUE from TSVs, files and their held-out splits, and
copies of training texts dropped from validation and test."""

from pathlib import Path

import pandas as pd
import pytest
from glue_data import GLUE_DIR, needs_glue

from berxit.data import load_task


def test_rotten_tomatoes_split_is_fixed_and_disjoint():
    task = load_task()
    assert {name: len(split) for name, split in task.splits.items()} == {
        "train": 10248,
        "validation": 1280 - 7,  # reviews that repeat a training review verbatim are dropped
        "test": 1280 - 5,
    }
    assert task.dropped_duplicates == {"validation": 7, "test": 5}
    again = load_task()
    assert task.splits["test"]["text"] == again.splits["test"]["text"]
    texts = [set(split["text"]) for split in task.splits.values()]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2])
    assert task.label_names == ["rotten", "fresh"] and task.metric == "accuracy"


@needs_glue
@pytest.mark.parametrize(
    ("name", "sizes", "num_labels", "metric", "pairs"),
    [
        ("glue/rte", (2241, 249, 277), 2, "accuracy", True),
        ("glue/MRPC", (3301, 367, 408), 2, "f1", True),
        ("glue/sts-b", (5174, 575 - 10, 1500 - 6), 1, "spearman", True),
        ("glue/sst2", (67349, 436, 436), 2, "accuracy", False),  # validation and test: halves of dev
    ],
)
def test_glue_tasks_from_local_tsvs(name, sizes, num_labels, metric, pairs):
    task = load_task(name, glue_dir=str(GLUE_DIR))
    assert tuple(len(task.splits[split]) for split in ("train", "validation", "test")) == sizes
    assert (task.num_labels, task.metric, "text_pair" in task.splits["train"].column_names) == (
        num_labels,
        metric,
        pairs,
    )
    labels = task.splits["test"]["label"]
    assert (min(labels), max(labels)) == ((0.0, 5.0) if num_labels == 1 else (0, 1))


def write_csv(path, rows: int = 30, **columns) -> Path:
    frame = pd.DataFrame({"review": [f"review number {i}" for i in range(rows)], "stars": [i % 3 for i in range(rows)]})
    frame.assign(**columns).to_csv(path, index=False)
    return path


def test_csv_with_named_columns(tmp_path):
    task = load_task(str(write_csv(tmp_path / "reviews.csv")), text_column="review", label_column="stars")
    assert task.num_labels == 3 and sum(len(split) for split in task.splits.values()) == 30
    assert set(task.splits["train"].column_names) == {"text", "label"}


def test_string_labels_become_classes(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", stars=["good", "bad"] * 15)
    task = load_task(str(path), text_column="review", label_column="stars")
    assert task.label_names == ["bad", "good"] and task.num_labels == 2


def test_float_labels_mean_regression(tmp_path):
    path = write_csv(tmp_path / "scores.csv", stars=[i / 10 for i in range(30)])
    task = load_task(str(path), text_column="review", label_column="stars")
    assert task.is_regression and task.metric == "spearman"


@needs_glue
def test_bad_data_arguments_are_named(tmp_path):
    path = str(write_csv(tmp_path / "reviews.csv"))
    with pytest.raises(ValueError, match="text_column='text': no such column .* it has \\['review', 'stars'\\]"):
        load_task(path, label_column="stars")
    with pytest.raises(ValueError, match="label_column='label': no such column"):
        load_task(path, text_column="review")
    with pytest.raises(ValueError, match="dataset: unknown GLUE task 'qnli'"):
        load_task("glue/qnli", glue_dir=str(GLUE_DIR))
    with pytest.raises(ValueError, match="num_labels: 2 given, but .* labels lie outside \\[0, 2\\)"):
        load_task(path, text_column="review", label_column="stars", num_labels=2)
    with pytest.raises(ValueError, match="glue_dir: expected a folder"):
        load_task("glue/rte", glue_dir=str(tmp_path))
    with pytest.raises(ValueError, match="validation_fraction"):
        load_task(path, text_column="review", label_column="stars", validation_fraction=1.5)
    with pytest.raises(FileNotFoundError, match="dataset: no such file"):
        load_task(str(tmp_path / "missing.csv"))


def test_validation_and_test_copies_of_training_texts_are_dropped(tmp_path):
    from berxit.data.leakage import split_keys

    path = tmp_path / "twice.csv"  # every review twice, once in other case and spacing
    rows = [f"A film , number {i}" for i in range(100)] + [f"a  FILM , number {i}" for i in range(100)]
    pd.DataFrame({"text": rows, "label": [i % 2 for i in range(200)]}).to_csv(path, index=False)
    task = load_task(str(path))
    train = set(split_keys(task.splits["train"]))
    for split in ("validation", "test"):
        assert task.dropped_duplicates[split] > 0
        assert not train & set(split_keys(task.splits[split]))
    assert sum(task.dropped_duplicates.values()) + sum(len(split) for split in task.splits.values()) == 200
