"""Careless commands and faults, as a new user meets them: each is one line naming the argument, and nothing a user
has (a run, a sweep, an export) is lost or left half-written."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from cli_helpers import SMALL_TRAIN, one_line_error, snapshot, train_args
from safetensors.torch import load_file

from berxit import BerxitForSequenceClassification
from berxit.artifacts.atomic_files import sha256_file
from berxit.lab.scripts import benchmark, compare_runs, experiments, serving_speed
from berxit.scripts import export, predict, sweep, train


def test_training_into_a_finished_run_needs_overwrite(capsys, finished_run, tiny_bert, reviews_csv):
    before = snapshot(finished_run)
    err = one_line_error(capsys, train.main, train_args(tiny_bert, reviews_csv, finished_run))
    assert "output_dir: " in err and "--overwrite_output_dir" in err
    assert snapshot(finished_run) == before


def test_overwriting_a_run_drops_its_stale_sweep(tmp_path, tiny_bert, reviews_csv):
    model_dir = tmp_path / "model"
    train.main(train_args(tiny_bert, reviews_csv, model_dir))
    sweep.main(["--model_dir", str(model_dir), "--chooser", "largest_within_drop", "--max_drop", "5"])
    train.main(train_args(tiny_bert, reviews_csv, model_dir, "--overwrite_output_dir", "--seed", "7"))
    assert not (model_dir / "sweep").exists() and not (model_dir / ".berxit-final").exists()
    run_info = json.loads((model_dir / "berxit_run.json").read_text())
    assert run_info["weights_sha256"] == sha256_file(model_dir / "model.safetensors")


def test_results_of_other_weights_are_refused(capsys, tmp_path, finished_run):
    model_dir = tmp_path / "model"
    shutil.copytree(finished_run, model_dir)
    export_argv = ["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "out")]
    # A sweep of other weights: the export refuses it.
    operating_point = model_dir / "sweep" / "operating_point.json"
    operating_point.write_text(json.dumps({**json.loads(operating_point.read_text()), "weights_sha256": "0" * 64}))
    err = one_line_error(capsys, export.main, export_argv)
    assert "sweep_dir: the results in" in err and "run berxit-sweep again" in err
    # Weights changed behind the run's back: the sweep and the export refuse them.
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    with torch.no_grad():
        model.berxit.certainty_head.classifier.bias.add_(1.0)
    model.save_pretrained(model_dir)
    err = one_line_error(capsys, sweep.main, ["--model_dir", str(model_dir)])
    assert "model_dir: the results in" in err and "run berxit-train again" in err
    assert "model_dir: the results in" in one_line_error(capsys, export.main, export_argv)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resume_from_checkpoint", "true"], "resume_from_checkpoint: true, but .* holds no checkpoint"),
        (["--resume_from_checkpoint", "/no/such/checkpoint"], "resume_from_checkpoint: no such checkpoint folder"),
        (["--max_train_samples", "0"], "max_train_samples: expected a number of examples >= 1"),
        (["--exit_strategy", "two_stage", "--max_steps", "3"], "even number of optimizer steps"),
    ],
)
def test_bad_training_commands_are_named_and_leave_nothing(capsys, tmp_path, tiny_bert, reviews_csv, extra, message):
    output_dir = tmp_path / "never"
    err = one_line_error(capsys, train.main, train_args(tiny_bert, reviews_csv, output_dir, *extra))
    assert err.startswith("berxit-train: error: ") and re.search(message, err), err
    assert not output_dir.exists()


def test_a_sweep_with_nan_metrics_writes_no_operating_point(capsys, tmp_path, tiny_bert):
    scores = tmp_path / "scores.csv"
    pd.DataFrame({"text": [f"pair {i}" for i in range(60)], "score": [2.5] * 60}).to_csv(scores, index=False)
    model_dir = tmp_path / "model"
    data = ["--dataset", str(scores), "--label_column", "score", "--task_type", "regression", "--max_length", "16"]
    train.main(["--model_name_or_path", str(tiny_bert), "--output_dir", str(model_dir), *data, *SMALL_TRAIN])
    config_before = (model_dir / "config.json").read_text()
    err = one_line_error(capsys, sweep.main, ["--model_dir", str(model_dir)])
    assert "dataset: the final layer's spearman on the validation split is nan" in err
    assert (model_dir / "config.json").read_text() == config_before
    assert not (model_dir / "sweep" / "operating_point.json").exists()


def test_the_same_training_command_gives_the_same_weights(tmp_path, tiny_bert, reviews_csv):
    for name in ("first", "second"):
        train.main(train_args(tiny_bert, reviews_csv, tmp_path / name))
    first, second = (load_file(tmp_path / name / "model.safetensors") for name in ("first", "second"))
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert torch.equal(value, second[key]), key


# Faults: a process killed part-way leaves what was there before intact, and nothing half-written behind.


def killed_at(command: list[str], seconds: float) -> None:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()


def hidden_leftovers(folder) -> list[str]:
    return [path.name for path in folder.iterdir() if path.name.startswith(".")]


def test_a_killed_export_leaves_the_earlier_export_intact(tmp_path, finished_run):
    export_dir = tmp_path / "export"
    command = [sys.executable, "-m", "berxit.scripts.export", "--model_dir", str(finished_run)]
    command += ["--export_dir", str(export_dir), "--overwrite"]
    export.main(command[3:])
    before = snapshot(export_dir)
    for seconds in (2.0, 4.0, 6.0):
        killed_at(command, seconds)
        assert snapshot(export_dir) == before, f"killed after {seconds} s"
    export.main(command[3:])  # the next export cleans what the killed ones left
    assert snapshot(export_dir) == before and hidden_leftovers(tmp_path) == []


def test_a_killed_training_never_leaves_a_run_that_looks_finished(tmp_path, tiny_bert, reviews_csv, finished_run):
    model_dir = tmp_path / "model"
    for path in finished_run.iterdir():
        if path.is_file():
            (model_dir / path.name).parent.mkdir(exist_ok=True)
            (model_dir / path.name).write_bytes(path.read_bytes())
    command = ["berxit-train", *train_args(tiny_bert, reviews_csv, model_dir, "--overwrite_output_dir", "--seed", "3")]
    for seconds in (3.0, 6.0, 9.0):
        killed_at(command, seconds)
        run_info = model_dir / "berxit_run.json"
        if run_info.exists():  # the earlier run, or the new one: either way its record matches its weights
            recorded = json.loads(run_info.read_text())["weights_sha256"]
            assert recorded == sha256_file(model_dir / "model.safetensors"), f"killed after {seconds} s"
    subprocess.run(command, check=True, capture_output=True)
    assert not (model_dir / ".berxit-final").exists()
    recorded = json.loads((model_dir / "berxit_run.json").read_text())["weights_sha256"]
    assert recorded == sha256_file(model_dir / "model.safetensors")


CLI_ARGUMENTS = [
    (train.main, ["--output_dir", "x", "--max_length", "1"], "max_length: expected a number of tokens >= 2"),
    (train.main, ["--output_dir", "x", "--num_labels", "0"], "num_labels: expected a number of classes >= 1"),
    (train.main, ["--output_dir", "x", "--validation_fraction", "1.5"], "validation_fraction: expected a number"),
    (train.main, ["--output_dir", "x", "--ddp_find_unused_parameters", "false"], "ddp_find_unused_parameters: "),
    (sweep.main, ["--model_dir", "x", "--batch_size", "0"], "batch_size: expected a number of examples >= 1"),
    (sweep.main, ["--model_dir", "x", "--max_drop", "-0.5"], "max_drop: expected a number of points in .0, 100."),
    (export.main, ["--model_dir", "x", "--export_dir", "y", "--push_to_hub"], "hub_model_id: --push_to_hub needs"),
    (export.main, ["--model_dir", "x", "--export_dir", "y"], "model_dir: x/berxit_run.json is missing"),
    (export.main, ["--model_dir", "x", "--export_dir", "y", "--quantize", "int8"], "quantize: int8 graphs are made"),
    (
        predict.main,
        ["--model_dir", "x", "--input", "x.csv", "--output", "o.csv", "--quantized"],
        "quantized: the int8 graphs run on ONNX Runtime",
    ),
    (benchmark.main, ["--batch_sizes", "8,x"], "batch_sizes: expected comma-separated whole numbers >= 1"),
    (benchmark.main, ["--sequence_lengths", "0"], "sequence_lengths: expected comma-separated whole numbers"),
    (benchmark.main, ["--models", "gpt2"], "models: expected 'checkpoint' and/or 'random'"),
    (benchmark.main, ["--repeats", "0"], "repeats: expected at least 1"),
    (benchmark.main, ["--backbone", "gpt2"], r"backbone: expected one of \('bert', "),
    (experiments.main, ["--tasks", "qqp", "--glue_dir", "x"], "tasks/strategies: unknown"),
    (
        predict.main,
        ["--model_dir", "x", "--input", "x.csv", "--output", "out.txt"],
        "output: expected a file ending in",
    ),
    (predict.main, ["--model_dir", "x", "--input", "x.csv", "--output", "o.csv", "--batch_size", "0"], "batch_size: "),
    (predict.main, ["--model_dir", "x", "--input", "missing.csv", "--output", "o.csv"], "input: no such file"),
    (serving_speed.main, ["--model_dir", "x", "--export_dir", "y"], "export_dir: y holds no ONNX graphs"),
    (serving_speed.main, ["--model_dir", "x", "--export_dir", "y", "--repeats", "0"], "repeats: expected at least 1"),
    (train.main, ["--output_dir", "x", "--num_train_epochs", "0"], "num_train_epochs: expected more than 0"),
    (
        train.main,
        ["--output_dir", "x", "--recipe", "bce", "--certainty_loss", "mse"],
        "recipe: 'bce' sets certainty_loss too; give the recipe or those settings, not both",
    ),
    (train.main, ["--output_dir", "x", "--recipe", "best"], "recipe: invalid choice|argument --recipe"),
    (
        predict.main,
        ["--model_dir", "x", "--input", "x.csv", "--output", "o.csv", "--text_column", "a", "--text_pair_column", "a"],
        "text_pair_column: 'a' is also the text_column",
    ),
    (compare_runs.main, ["--runs", "a", "--output", "out.json"], "output: expected a markdown file ending in .md"),
]


@pytest.mark.parametrize(("main", "argv", "message"), CLI_ARGUMENTS, ids=[" ".join(c[1]) for c in CLI_ARGUMENTS])
def test_bad_cli_arguments_are_one_line_naming_the_argument(capsys, tmp_path, monkeypatch, main, argv, message):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(capsys, main, argv)
    assert re.search(message, err), err
    assert not (tmp_path / "x").exists()


class _RunsCode:
    def __reduce__(self):
        return (print, ("unpickled",))


def test_pickled_weights_holding_code_are_refused_in_one_line(capsys, tmp_path, text_model_dir):
    model_dir = tmp_path / "model"
    shutil.copytree(text_model_dir, model_dir)
    (model_dir / "model.safetensors").unlink()
    torch.save({"weight": _RunsCode()}, model_dir / "pytorch_model.bin")
    argv = ["--model_dir", str(model_dir), "--input", str(tmp_path / "in.txt"), "--output", str(tmp_path / "o.csv")]
    (tmp_path / "in.txt").write_text("a good film\n")
    err = one_line_error(capsys, predict.main, argv)
    assert "pickled weights" in err and "safetensors" in err and "weights_only" not in err
    assert "unpickled" not in capsys.readouterr().out and not (tmp_path / "o.csv").exists()


def test_a_record_of_another_layer_count_is_refused_by_name(capsys, tmp_path, finished_run):
    from berxit.evaluation.records import ExitRecord
    from berxit.lab.scripts import check_promise

    model_dir = tmp_path / "model"
    shutil.copytree(finished_run, model_dir)
    path = model_dir / "sweep" / "record_test.npz"
    record = ExitRecord.load(path)
    ExitRecord(record.exit_logits[:, 1:], record.certainties[:, 1:], record.labels).save(path)
    err = one_line_error(capsys, check_promise.main, ["--model_dir", str(model_dir), "--draws", "2"])
    assert "record_test.npz: it records 2 layers" in err and "run berxit-sweep again" in err


def test_an_output_linked_to_a_device_becomes_a_file_with_the_umask_mode(tmp_path, text_model_dir):
    import os

    (tmp_path / "in.txt").write_text("a good film\n")
    link = tmp_path / "o.csv"
    link.symlink_to("/dev/full")
    predict.main(
        ["--model_dir", str(text_model_dir), "--input", str(tmp_path / "in.txt"), "--output", str(link), "--overwrite"]
    )
    umask = os.umask(0)
    os.umask(umask)
    assert not link.is_symlink() and link.stat().st_mode & 0o777 == 0o666 & ~umask
    assert "predicted_label" in link.read_text()
