"""The command-line tools end to end on a tiny BERT: train -> sweep -> export -> fresh-process load -> pipeline,
and the push to a stand-in Hub on 127.0.0.1."""

import json
import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from hub_server import HubStandIn
from huggingface_hub import ModelCard

import berxit
from berxit import BerxitForSequenceClassification
from berxit.data import label_mean, load_task
from berxit.exit_rules.rules import THRESHOLDS, FinalLayer, make_exit_rule
from berxit.lab.scripts import check_promise
from berxit.onnx_runtime.runner import ServedConfig
from berxit.scripts import export, predict, sweep, train

TRAIN_ARGS = ["--max_steps", "4", "--per_device_train_batch_size", "8", "--report_to", "none", "--disable_tqdm", "true"]


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, tiny_bert, reviews_csv):
    root = tmp_path_factory.mktemp("run")
    data = ["--dataset", str(reviews_csv), "--text_column", "review", "--label_column", "verdict", "--max_length", "32"]
    model_dir, export_dir = root / "model", root / "export"
    train.main(["--model_name_or_path", str(tiny_bert), "--output_dir", str(model_dir), *data, *TRAIN_ARGS])
    sweep.main(["--model_dir", str(model_dir), "--chooser", "largest_within_drop", "--max_drop", "5"])
    export.main(["--model_dir", str(model_dir), "--export_dir", str(export_dir)])
    operating = json.loads((model_dir / "sweep" / "operating_point.json").read_text())
    return model_dir, operating, export_dir


def test_sweep_writes_curves_and_calibrates_the_checkpoint(pipeline_run):
    model_dir, operating, _ = pipeline_run
    outputs = {path.name for path in (model_dir / "sweep").iterdir()}
    assert {"summary.md", "summary.csv", "curve_validation.csv", "curve_test.csv", "curve.png"} <= outputs
    summary = pd.read_csv(model_dir / "sweep" / "summary.csv")
    assert summary["rule"].tolist() == ["final layer", "certainty", "entropy", "patience"]
    curve = pd.read_csv(model_dir / "sweep" / "curve_test.csv")
    assert len(curve) == 1 + 2 * len(THRESHOLDS) + 2  # final, two threshold grids, patience 1..2
    # Static depth beside the rules: every example at exit k, and how well each score ranks that exit's answers.
    exits = pd.read_csv(model_dir / "sweep" / "exits.csv")
    assert exits["exit"].tolist() == [1, 2, 3] and exits["saved_layers"].iloc[-1] == 0.0
    assert {"test_certainty_auroc", "test_softmax_auroc"} <= set(exits.columns)
    assert "Each exit alone (static depth" in (model_dir / "sweep" / "summary.md").read_text()
    assert (model_dir / "sweep" / "curve.png").read_bytes().startswith(b"\x89PNG")
    config = json.loads((model_dir / "config.json").read_text())
    assert config["exit_threshold"] == operating["setting"] and config["exit_rule"] == "certainty"
    # Chosen on validation, within the allowed drop there.
    validation = pd.read_csv(model_dir / "sweep" / "curve_validation.csv")
    final = validation.loc[validation["rule"] == "final layer", "accuracy"].item()
    assert operating["validation"] >= final - 0.05 - 1e-9


def test_default_sweep_keeps_a_promise_or_serves_the_last_layer(pipeline_run, tmp_path, capsys):
    model_dir = tmp_path / "model"
    shutil.copytree(pipeline_run[0], model_dir)
    task = load_task(reviews_file(model_dir), text_column="review", label_column="verdict")
    sweep.main(["--model_dir", str(model_dir)])  # Learn then Test, harm <= 1 point with probability 0.9
    assert "No certainty setting is certified on the validation split" in capsys.readouterr().out
    operating = json.loads((model_dir / "sweep" / "operating_point.json").read_text())
    promise = operating["promise"]
    assert operating["setting"] is None and promise["certified"] is False  # a few examples certify nothing
    assert (promise["risk"], promise["epsilon"], promise["confidence"]) == ("harm", 0.01, 0.9)
    assert promise["calibration_examples"] == len(task.splits["validation"])
    lo, hi = operating["test"]["accuracy_interval"]
    assert lo <= operating["test"]["accuracy"] <= hi
    loaded = BerxitForSequenceClassification.from_pretrained(model_dir)
    assert loaded.config.exit_promise == promise and not loaded.config.has_operating_point  # the last layer answers
    # ... and so do early_exit_forward, the scheduler, berxit-predict and the ONNX runner's rule, as the sweep said.
    layers = loaded.config.num_hidden_layers
    ids = loaded.eval().dummy_inputs["input_ids"]
    assert loaded.early_exit_forward(ids).exit_layers.tolist() == [layers] * len(ids)
    assert isinstance(make_exit_rule(ServedConfig.from_dict(loaded.config.to_dict())), FinalLayer)
    predictions = tmp_path / "predictions.csv"
    reviews = reviews_file(model_dir)
    predict.main(
        [
            "--model_dir",
            str(model_dir),
            "--input",
            str(reviews),
            "--text_column",
            "review",
            "--output",
            str(predictions),
        ]
    )
    assert set(pd.read_csv(predictions)["exit_layer"]) == {layers}

    texts = tmp_path / "traffic.csv"  # the user's own unlabelled texts, in the run's text column
    pd.DataFrame({"review": [f"an unlabelled review, {i}" for i in range(300)]}).to_csv(texts, index=False)
    argv = ["--model_dir", str(model_dir), "--calibration_file", str(texts), "--max_disagreement", "0.95"]
    sweep.main(argv)
    operating = json.loads((model_dir / "sweep" / "operating_point.json").read_text())
    promise = operating["promise"]
    assert (promise["risk"], promise["calibration"], promise["calibration_examples"]) == (
        "consistency",
        texts.name,
        300,
    )
    assert promise["certified"] and promise["certified_bound"] <= 0.95 and operating["validation"] is None
    assert operating["setting"] is not None
    assert (model_dir / "sweep" / "summary.md").read_text().startswith("Each rule's setting was chosen on traffic.csv")

    export.main(["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "export")])
    card = ModelCard.load(tmp_path / "export" / "README.md")
    assert "**What it promises.**" in card.text and "traffic.csv (300 examples)" in card.text
    bound = {result.metric_type: result.metric_value for result in card.data.eval_results}["consistency_bound"]
    assert bound == pytest.approx(promise["certified_bound"], abs=1e-4)

    check_promise.main(["--model_dir", str(model_dir), "--draws", "4"])
    assert "random halves" in capsys.readouterr().out
    assert len(json.loads((model_dir / "sweep" / "promise_check.json").read_text())["rows"]) == 6


def reviews_file(model_dir):
    return json.loads((model_dir / "berxit_run.json").read_text())["data"]["dataset"]


def test_export_folder_is_hub_ready(pipeline_run):
    _, operating, export_dir = pipeline_run
    names = {path.name for path in export_dir.iterdir()}
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "modeling_berxit.py",
        "configuration_berxit.py",
    } <= names
    assert {"README.md", "curve.png"} <= names
    card = ModelCard.load(export_dir / "README.md")
    assert card.data.license == "apache-2.0" and card.data.language == "en"
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    assert card.data.base_model is None and card.data.datasets is None  # a local checkpoint and a local CSV
    results = {result.metric_name: result for result in card.data.eval_results}
    at_point = results[f"accuracy at the operating point (certainty threshold {operating['setting']})"]
    assert at_point.metric_value == pytest.approx(operating["test"]["accuracy"], abs=1e-4)
    assert at_point.dataset_split == "test" and at_point.task_type == "text-classification"
    assert results["share of layers saved at the operating point"].metric_value == pytest.approx(
        operating["test"]["saved_layers"], abs=1e-4
    )
    assert "| certainty |" in card.text and "![speed-accuracy curve](curve.png)" in card.text
    assert set(json.loads((export_dir / "config.json").read_text())["auto_map"]) == {
        "AutoConfig",
        "AutoModel",
        "AutoModelForSequenceClassification",
    }
    # Nothing local goes out with the export.
    for path in export_dir.iterdir():
        if path.suffix in (".json", ".md", ".txt"):
            assert str(export_dir.parent.parent) not in path.read_text(), path.name


def test_model_card_snippet_runs_in_a_fresh_process_without_prompts(pipeline_run, tmp_path):
    _, operating, export_dir = pipeline_run
    card = ModelCard.load(export_dir / "README.md")
    snippet = card.text.split("```python")[1].split("```")[0].replace(f'"{export_dir.name}"', repr(str(export_dir)))
    script = 'import sys\nsys.modules["berxit"] = None  # berxit is not importable here\n' + snippet
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Do you wish to run the custom code" not in result.stdout + result.stderr
    assert result.stdout.count("'label': ") == 1 and "tensor(" in result.stdout


def push_export(model_dir, export_dir, hub: HubStandIn) -> subprocess.CompletedProcess:
    """berxit-export --push_to_hub in its own process, with the Hub client pointed at the stand-in."""
    command = [sys.executable, "-m", "berxit.scripts.export", "--model_dir", str(model_dir)]
    command += ["--export_dir", str(export_dir), "--push_to_hub", "--hub_model_id", "me/tiny"]
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": "hf_test_token"}
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd="/")


def test_push_sends_every_file_to_the_hub(pipeline_run, tmp_path):
    model_dir, _, _ = pipeline_run
    export_dir = tmp_path / "pushed"
    with HubStandIn() as hub:
        result = push_export(model_dir, export_dir, hub)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ("POST", "/api/repos/create") in hub.requests
    local = {path.name: path.read_bytes() for path in export_dir.iterdir()}
    assert hub.files["me/tiny"] == local


def test_failed_push_keeps_the_export_and_says_why(pipeline_run, tmp_path):
    model_dir, _, _ = pipeline_run
    export_dir = tmp_path / "kept"
    with HubStandIn(fail_commits=True) as hub:
        result = push_export(model_dir, export_dir, hub)
    assert result.returncode != 0
    assert "Push to me/tiny" in result.stderr and "is intact" in result.stderr
    assert (export_dir / "model.safetensors").is_file() and (export_dir / "README.md").is_file()


def test_export_is_atomic_and_protects_other_folders(pipeline_run, tmp_path, monkeypatch, capsys):
    model_dir, operating, export_dir = pipeline_run
    before = {path.name: path.read_bytes() for path in export_dir.iterdir()}

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ModelCard, "save", crash)  # fails half-way through writing the new export
    with pytest.raises(RuntimeError, match="disk full"):
        export.main(["--model_dir", str(model_dir), "--export_dir", str(export_dir), "--overwrite"])
    assert {path.name: path.read_bytes() for path in export_dir.iterdir()} == before
    assert not [path for path in export_dir.parent.iterdir() if path.name.startswith(f".{export_dir.name}.")]
    monkeypatch.undo()

    other = tmp_path / "holiday-photos"
    other.mkdir()
    (other / "beach.jpg").write_bytes(b"not a model")
    argv = ["--model_dir", str(model_dir), "--export_dir", str(other)]
    for flags in ([], ["--overwrite"]):  # only an earlier export is ever replaced
        assert_one_line_error(capsys, export.main, argv + flags, "export_dir: .* holds files that are not a berxit")
    assert (other / "beach.jpg").read_bytes() == b"not a model"


def assert_one_line_error(capsys, call, argv, expected: str):
    """The tool exits with code 2 and one line on stderr that names the argument; no traceback."""
    capsys.readouterr()  # only what this call writes
    with pytest.raises(SystemExit) as exited:
        call(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    # Progress bars may come first; the error itself is one line, the last.
    assert "Traceback" not in err and sum(": error: " in line for line in err.splitlines()) == 1, err
    assert re.search(expected, err.splitlines()[-1]), err


def test_bad_cli_arguments_are_named(pipeline_run, tmp_path, capsys):
    model_dir, _, _ = pipeline_run
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_one_line_error(
        capsys, train.main, ["--output_dir", str(blocker / "model"), *TRAIN_ARGS], "^berxit-train: error: output_dir: "
    )
    sweep_errors = {
        "--max_drop -1": "^berxit-sweep: error: max_drop: expected a number of points in .0, 100.",
        f"--model_dir {tmp_path}": "^berxit-sweep: error: model_dir: expected a folder written by berxit-train",
        "--max_drop 1 --max_disagreement 0.1": "^berxit-sweep: error: max_disagreement: give either --max_drop",
        "--calibration_file texts.csv": "^berxit-sweep: error: calibration_file: unlabelled texts can certify only",
        "--confidence 1": "^berxit-sweep: error: confidence: expected a probability in",
    }
    for arguments, expected in sweep_errors.items():
        argv = ["--model_dir", str(model_dir), *arguments.split()]
        assert_one_line_error(capsys, sweep.main, argv, expected)
    # argparse's own errors: its usage, then one error line.
    for arguments, expected in {
        "--max_drop one": "invalid float value: 'one'",
        "--rule fast": "invalid choice",
    }.items():
        with pytest.raises(SystemExit):
            sweep.main(["--model_dir", str(model_dir), *arguments.split()])
        assert expected in capsys.readouterr().err.strip().splitlines()[-1]
    assert_one_line_error(
        capsys,
        export.main,
        ["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "x"), "--push_to_hub"],
        "^berxit-export: error: hub_model_id: ",
    )


def test_console_commands_report_errors_and_their_version(tmp_path):
    version = subprocess.run(["berxit-train", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"berxit-train (berxit) {berxit.__version__}"
    result = subprocess.run(["berxit-sweep", "--model_dir", str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"berxit-sweep: error: model_dir: expected a folder written by berxit-train (with berxit_run.json), got "
        f"{tmp_path / 'nowhere'}."
    ]


def test_regression_training_starts_every_exit_at_the_label_mean(tiny_bert, tmp_path):
    path = tmp_path / "scores.csv"
    pd.DataFrame({"text": [f"pair {i}" for i in range(40)], "score": [3.0 + (i % 5) / 2 for i in range(40)]}).to_csv(
        path, index=False
    )
    data = ["--dataset", str(path), "--label_column", "score", "--max_length", "16"]
    args = ["--model_name_or_path", str(tiny_bert), "--output_dir", str(tmp_path / "model"), *data]
    train.main([*args, "--max_steps", "2", *TRAIN_ARGS[2:], "--learning_rate", "0"])  # nothing moves: see the start
    model = BerxitForSequenceClassification.from_pretrained(tmp_path / "model")
    assert model.config.is_regression
    expected = label_mean(load_task(str(path), label_column="score").splits["train"])
    assert 3.0 < expected < 5.0
    for exit_ in model.berxit.exits:
        assert float(exit_.classifier.bias) == pytest.approx(expected, abs=1e-6)


def test_exit_pooling_follows_the_checkpoint_unless_told(tiny_bert, reviews_csv, tmp_path, capsys):
    data = ["--dataset", str(reviews_csv), "--text_column", "review", "--label_column", "verdict", "--max_length", "16"]
    common = [*data, "--max_steps", "2", "--per_device_train_batch_size", "8", "--report_to", "none"]
    train.main(["--model_name_or_path", str(tiny_bert), "--output_dir", str(tmp_path / "cls"), *common])
    assert BerxitForSequenceClassification.from_pretrained(tmp_path / "cls").config.exit_pooling == "cls"
    argv = ["--model_name_or_path", str(tiny_bert), "--output_dir", str(tmp_path / "mean"), "--exit_pooling", "mean"]
    train.main([*argv, *common])
    assert BerxitForSequenceClassification.from_pretrained(tmp_path / "mean").config.exit_pooling == "mean"
    # Going on from a berxit checkpoint keeps its pooling.
    argv = ["--model_name_or_path", str(tmp_path / "mean"), "--output_dir", str(tmp_path / "on"), "--exit_pooling"]
    assert_one_line_error(capsys, train.main, [*argv, "cls", *common], "exit_pooling: the berxit checkpoint .* 'mean'")
