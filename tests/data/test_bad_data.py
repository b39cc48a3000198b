"""Careless data files, as a new user meets them: each is refused naming the argument, and labels follow the rules
stated for them."""

import pandas as pd
import pytest

from berxit.data import load_task


def csv_bytes(rows: list[str], times: int = 10) -> bytes:
    """A CSV with header `text,label` and `rows` repeated, enough to hold out validation and test."""
    return ("text,label\n" + "\n".join(rows * times) + "\n").encode()


DATA = [
    ("an empty file", b"", {}, ValueError, "dataset: .* is empty"),
    ("a header and no rows", b"text,label\n", {}, ValueError, "dataset: .* holds a header and no rows"),
    ("too few rows", csv_bytes(["a,1", "b,0"], 2), {}, ValueError, "dataset: .* has 4 training examples"),
    ("not UTF-8", "text,label\ncafé,1\nbar,0\n".encode("latin-1"), {}, ValueError, "dataset: .* is not UTF-8"),
    ("an empty text cell", csv_bytes(["a film,1", ",0"]), {}, ValueError, "text_column='text': rows \\[1, 3"),
    ("an empty label cell", csv_bytes(["a,1", "b,", "c,0"]), {}, ValueError, "label_column='label': 10 label cell"),
    ("one class", csv_bytes(["a,up", "b,up"]), {}, ValueError, "label_column: only one class \\(\\['up'\\]\\)"),
    ("classes with fractions", csv_bytes(["a,0.5", "b,1"]), dict(task_type="classification"), ValueError, "fraction"),
    ("regression on text", csv_bytes(["a,up", "b,down"]), dict(task_type="regression"), ValueError, "numeric labels"),
    ("an unknown task type", csv_bytes(["a,0", "b,1"]), dict(task_type="ranking"), ValueError, "task_type: expected"),
    ("ids past num_labels", csv_bytes(["a,0", "b,3"]), dict(num_labels=2), ValueError, "num_labels: 2 given"),
    ("no such file", None, {}, FileNotFoundError, "dataset: no such file"),
]


@pytest.mark.parametrize(("name", "content", "kwargs", "error", "message"), DATA, ids=[c[0] for c in DATA])
def test_bad_data_files_are_named(tmp_path, name, content, kwargs, error, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=message):
        load_task(str(path), **kwargs)


def labels_file(tmp_path, labels: list) -> str:
    path = tmp_path / "data.csv"
    pd.DataFrame({"text": [f"text {i}" for i in range(len(labels))], "label": labels}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("labels", "kwargs", "num_labels", "names"),
    [
        ([0.0, 1.0] * 20, {}, 2, ["0", "1"]),  # whole numbers written as floats are classes
        ([1, 2] * 20, {}, 2, ["1", "2"]),  # no phantom class 0
        (["b", "a", "c"] * 10, {}, 3, ["a", "b", "c"]),
        ([0, 1] * 20, dict(task_type="regression"), 1, None),
        ([0.5, 1.25, 3.0] * 10, {}, 1, None),
        ([0, 1] * 20, dict(num_labels=3), 3, None),  # the labels are class ids; class 2 is never seen
    ],
)
def test_labels_follow_stated_rules(tmp_path, labels, kwargs, num_labels, names):
    task = load_task(labels_file(tmp_path, labels), **kwargs)
    assert task.num_labels == num_labels and task.label_names == names and task.labels_rule
    if num_labels > 1:  # class ids, contiguous from 0
        assert {value for split in task.splits.values() for value in split["label"]} <= set(range(num_labels))


# The command-line tools. Each error is one line naming the argument, exit code 2.
