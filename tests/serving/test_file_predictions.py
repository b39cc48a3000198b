"""Predicting a file of any size (#37): read as it goes, answered a chunk at a time, published whole; a run killed
with SIGKILL goes on with --resume and ends with the same bytes as an uninterrupted one; a resume made any other way
is refused naming what changed."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from cli_helpers import one_line_error

from berxit.scripts import predict
from berxit.serving.file_predictions import partial_paths

ROWS = 2400
WORDS = ["good", "dull", "fine", "awful", "a long and winding story , told slowly"]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    path = tmp_path_factory.mktemp("reviews") / "reviews.csv"
    rows = [f'{i},"a {WORDS[i % 5]} film , number {i}{" again" * (i % 7)}"' for i in range(ROWS)]
    path.write_text("id,review\n" + "\n".join(rows) + "\n")
    return path


def command(text_model_dir, reviews, output, *extra) -> list[str]:
    argv = ["--model_dir", str(text_model_dir), "--input", str(reviews), "--text_column", "review"]
    return [
        sys.executable,
        "-m",
        "berxit.scripts.predict",
        *argv,
        "--output",
        str(output),
        "--chunk_rows",
        "150",
        *extra,
    ]


def killed_after_rows(argv: list[str], rows: int, record) -> None:
    """Starts berxit-predict and kills it (SIGKILL) once its progress record passes `rows`, a moment later."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if record.exists() and json.loads(record.read_text())["rows"] >= rows:
            time.sleep(random.uniform(0.0, 0.03))  # somewhere in the next chunk, maybe in its write
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_killed_run_resumes_to_the_same_bytes(tmp_path, text_model_dir, reviews):
    whole = tmp_path / "whole.csv"
    subprocess.run(command(text_model_dir, reviews, whole), check=True, capture_output=True)
    output = tmp_path / "resumed.csv"
    partial, record = partial_paths(output)
    random.seed(0)
    for round_, rows in enumerate(sorted(random.sample(range(150, ROWS - 900), 3))):
        killed_after_rows(command(text_model_dir, reviews, output, *(["--resume"] if round_ else [])), rows, record)
        assert not output.exists() and partial.exists(), f"round {round_}"
    done = subprocess.run(command(text_model_dir, reviews, output, "--resume"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert output.read_bytes() == whole.read_bytes()
    assert not partial.exists() and not record.exists()
    assert len(output.read_text().splitlines()) == ROWS + 1


def test_a_resume_made_another_way_is_refused_naming_what_changed(capsys, tmp_path, text_model_dir, reviews):
    output = tmp_path / "predictions.csv"
    killed_after_rows(command(text_model_dir, reviews, output), 150, partial_paths(output)[1])
    argv = command(text_model_dir, reviews, output)[3:]
    assert "pass --resume to go on from there" in one_line_error(capsys, predict.main, argv)
    err = one_line_error(capsys, predict.main, [*argv, "--resume", "--threshold", "0.9"])
    assert "resume: the partial run of" in err and "made with another threshold" in err
    other = tmp_path / "other.csv"
    other.write_text(reviews.read_text().replace("number 7", "number seven"))
    argv_other = [*argv, "--resume"]
    argv_other[argv_other.index("--input") + 1] = str(other)
    assert "made with another input" in one_line_error(capsys, predict.main, argv_other)
    assert not output.exists()  # nothing published, the partial run kept for a resume made the same way
    assert partial_paths(output)[0].exists()
    fresh = tmp_path / "fresh.csv"
    assert "has no partial run to go on from" in one_line_error(
        capsys, predict.main, [*command(text_model_dir, reviews, fresh)[3:], "--resume"]
    )


def test_two_torchrun_processes_write_the_bytes_of_one(tmp_path, text_model_dir):
    """torchrun with 2 CPU processes (gloo) shares the chunks and writes one output, byte for byte the one process's."""
    rows = [{"id": i, "text": f"review {i} " + "word " * (i % 23)} for i in range(150)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    common = ["--model_dir", str(text_model_dir), "--input", str(source), "--chunk_rows", "16", "--batch_size", "4"]
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    subprocess.run([sys.executable, "-m", "berxit.scripts.predict", *common, "--output", str(one)], check=True)
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    subprocess.run(
        [*launcher, "-m", "berxit.scripts.predict", *common, "--output", str(two)],
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert two.read_bytes() == one.read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "one.csv", "two.csv"]
