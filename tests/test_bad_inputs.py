"""Careless and hostile inputs and faults, as a new user meets them: each is refused with the error type and a
message that names the argument, and nothing a user has is lost or left half-written."""

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
from tiny_models import padded_batch, tiny_model
from transformers import DistilBertConfig, GPT2Config

from berxit import BerxitConfig, BerxitForSequenceClassification, BerxitMetrics, BerxitModel, BerxitTrainingArguments
from berxit.artifacts.files import sha256_file
from berxit.data import load_task
from berxit.scripts import benchmark, experiments, export, predict, serving_speed, sweep, train

IDS, MASK = padded_batch(tiny_model(), [5, 2])
LIMIT = 64  # the tiny models' position table

# (name, call arguments, error type, the text the message must hold); every call goes to `forward` and to
# `early_exit_forward` (threshold 0.5) of a tiny BERT and RoBERTa.
MODEL_INPUTS = [
    ("ids as floats", dict(input_ids=IDS.float()), TypeError, "input_ids: expected integer"),
    ("ids 1-d", dict(input_ids=IDS[0]), ValueError, "input_ids: expected a 2-d tensor"),
    ("empty batch", dict(input_ids=IDS[:0]), ValueError, "input_ids: the batch is empty"),
    ("too long", dict(input_ids=torch.full((1, LIMIT + 1), 5)), ValueError, "input_ids: sequences of 65 tokens"),
    (
        "id past the vocabulary",
        dict(input_ids=IDS.index_fill(1, torch.tensor([0]), 99)),
        ValueError,
        r"input_ids: ids must lie in \[0",
    ),
    ("negative id", dict(input_ids=IDS - 10), ValueError, r"input_ids: ids must lie in \[0, vocab_size=99\)"),
    ("no input", dict(attention_mask=MASK), ValueError, "input_ids: give exactly one of input_ids and inputs_embeds"),
    ("mask of another shape", dict(input_ids=IDS, attention_mask=MASK[:, :3]), ValueError, "attention_mask: expected"),
    ("mask not 0/1", dict(input_ids=IDS, attention_mask=MASK * 2), ValueError, "attention_mask: expected 1 for real"),
    (
        "an example with no real token",
        dict(input_ids=IDS, attention_mask=MASK * torch.tensor([[1], [0]])),
        ValueError,
        r"attention_mask: the examples at rows \[1\] have no real token",
    ),
    ("token types of another shape", dict(input_ids=IDS, token_type_ids=MASK[:1]), ValueError, "token_type_ids: exp"),
    (
        "token type past the table",
        dict(input_ids=IDS, token_type_ids=MASK * 7),
        ValueError,
        "token_type_ids: ids must lie in",
    ),
    ("positions of another shape", dict(input_ids=IDS, position_ids=MASK[:, :2]), ValueError, "position_ids: exp"),
    ("embeds 2-d", dict(inputs_embeds=torch.zeros(2, 32)), ValueError, "inputs_embeds: expected a 3-d tensor"),
    ("embeds too narrow", dict(inputs_embeds=torch.zeros(2, 5, 8)), ValueError, "inputs_embeds: expected vectors"),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "message"), MODEL_INPUTS, ids=[c[0] for c in MODEL_INPUTS])
def test_bad_model_inputs_are_named(model_type, name, kwargs, error, message):
    model = tiny_model(model_type)
    if model_type == "roberta" and "vocab_size" in message:
        message = message.replace("99", str(model.config.backbone_config.vocab_size))
    with pytest.raises(error, match=message):
        model(**kwargs)
    with pytest.raises(error, match=message):
        model.early_exit_forward(**kwargs, threshold=0.5)


LABELS = [
    ("float class labels", 3, torch.tensor([0.0, 1.0]), TypeError, "labels: classification needs integer"),
    ("class out of range", 3, torch.tensor([0, 3]), ValueError, r"labels: class indices must lie in \[0, 3\)"),
    ("negative class", 3, torch.tensor([-1, 0]), ValueError, "labels: class indices"),
    ("labels of another batch", 3, torch.tensor([0, 1, 2]), ValueError, r"labels: expected shape \(2,\)"),
    ("labels as a list", 3, [0, 1], TypeError, "labels: expected a torch.Tensor"),
    ("integer regression targets", 1, torch.tensor([1, 2]), TypeError, "labels: regression needs floating-point"),
    ("NaN regression target", 1, torch.tensor([0.5, float("nan")]), ValueError, "labels: regression targets must be"),
    ("infinite regression target", 1, torch.tensor([float("inf"), 0.5]), ValueError, "labels: regression targets"),
]


@pytest.mark.parametrize(("name", "num_labels", "labels", "error", "message"), LABELS, ids=[c[0] for c in LABELS])
def test_bad_labels_are_named(name, num_labels, labels, error, message):
    model = tiny_model(num_labels=num_labels).train()
    with pytest.raises(error, match=message):
        model(IDS, attention_mask=MASK, labels=labels)


def call_with(**kwargs):
    return lambda model: model.early_exit_forward(IDS, attention_mask=MASK, **kwargs)


CALLS = [
    ("threshold above 1", call_with(threshold=1.5), ValueError, r"threshold: expected values in \[0, 1\]"),
    ("threshold as text", call_with(threshold="high"), TypeError, "threshold: expected a number"),
    ("threshold list too short", call_with(threshold=[0.5]), ValueError, "threshold: a per-layer list needs one"),
    ("unknown rule", call_with(rule="fastest", threshold=0.5), ValueError, "rule: expected one of"),
    ("patience 0", call_with(rule="patience", patience=0), ValueError, "patience: expected an int >= 1"),
    ("patience as float", call_with(rule="patience", patience=1.5), TypeError, "patience: expected an int"),
    ("patience with a threshold", call_with(rule="patience", threshold=0.5), ValueError, "threshold: the patience"),
    (
        "patience on certainty",
        call_with(threshold=0.5, patience=2),
        ValueError,
        "patience: the certainty rule takes no",
    ),
    ("no threshold anywhere", call_with(), ValueError, "threshold: the 'certainty' rule needs a threshold"),
    ("unknown objective", lambda model: model(IDS, objective="everything"), ValueError, "objective: expected one of"),
    (
        "early exit in train mode",
        lambda model: model.train().early_exit_forward(IDS, threshold=0.5),
        ValueError,
        "early_exit_forward: the model is in training mode",
    ),
    ("regression start on a classifier", lambda m: m.init_regression_outputs(1.0), ValueError, "init_regression_out"),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), CALLS, ids=[c[0] for c in CALLS])
def test_bad_calls_are_named(name, call, error, message):
    with pytest.raises(error, match=message):
        call(tiny_model())


def test_regression_only_arguments_are_named():
    model = tiny_model(num_labels=1)
    with pytest.raises(ValueError, match="rule: the 'entropy' rule needs class probabilities"):
        model.early_exit_forward(IDS, rule="entropy", threshold=0.5)
    with pytest.raises(ValueError, match="value: expected a finite number"):
        model.init_regression_outputs(float("nan"))


CONFIGS = [
    ("no classes", dict(num_labels=0), ValueError, "num_labels: expected an int >= 1"),
    ("negative classes", dict(num_labels=-3), ValueError, "num_labels: expected an int >= 1 .*got -3"),
    ("classes as text", dict(num_labels="2"), ValueError, "num_labels: expected an int >= 1"),
    ("regression with 3 outputs", dict(num_labels=3, problem_type="regression"), ValueError, "num_labels: regression"),
    ("unknown problem type", dict(problem_type="ranking"), ValueError, "problem_type: expected one of"),
    ("unknown rule", dict(exit_rule="fastest"), ValueError, "exit_rule: expected one of"),
    ("threshold above 1", dict(exit_threshold=2.0), ValueError, "exit_threshold: expected values in"),
    ("patience with a threshold", dict(exit_rule="patience", exit_threshold=0.5), ValueError, "exit_threshold: the pa"),
    ("patience -1", dict(patience=-1), ValueError, "patience: expected an int >= 1"),
    ("unknown pooling", dict(exit_pooling="max"), ValueError, "exit_pooling: expected one of"),
    ("GPT-2 backbone", dict(backbone_config={"model_type": "gpt2"}), ValueError, "backbone_config: berxit supports"),
    ("backbone without a type", dict(backbone_config={"num_hidden_layers": 2}), ValueError, "backbone_config: a dict"),
]


@pytest.mark.parametrize(("name", "kwargs", "error", "message"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_bad_configs_are_named(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        BerxitConfig(**kwargs)


def test_bad_training_and_metric_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="exit_strategy: expected one of"):
        BerxitTrainingArguments(output_dir=str(tmp_path), exit_strategy="cyclic")
    with pytest.raises(ValueError, match="threshold: expected values in"):
        BerxitMetrics(tiny_model().config, threshold=3.0)
    with pytest.raises(ValueError, match="rule: expected one of"):
        BerxitMetrics(tiny_model().config, rule="fastest")


@pytest.mark.parametrize("config", [GPT2Config(n_layer=2, n_embd=32, n_head=4), DistilBertConfig(n_layers=2)])
def test_from_pretrained_refuses_checkpoints_that_are_not_berxit(tmp_path, config):
    config.save_pretrained(tmp_path)
    for cls in (BerxitModel, BerxitForSequenceClassification):
        with pytest.raises(ValueError, match=f"pretrained_model_name_or_path: this is a '{config.model_type}' check"):
            cls.from_pretrained(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage"])
def test_damaged_weights_are_named(tmp_path, damage):
    tiny_model().save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    content = weights.read_bytes()
    weights.write_bytes({"truncated": content[: len(content) // 2], "empty": b"", "garbage": b"x" * 999}[damage])
    with pytest.raises(OSError, match=f"pretrained_model_name_or_path: the weights in {tmp_path} cannot be read"):
        BerxitModel.from_pretrained(tmp_path)


def test_missing_folders_are_named(tmp_path):
    for load in (BerxitModel.from_pretrained, BerxitForSequenceClassification.from_pretrained_backbone):
        with pytest.raises(OSError, match=f"pretrained_model_name_or_path: no such folder {tmp_path}/nothing"):
            load(tmp_path / "nothing")
        with pytest.raises(OSError, match="pretrained_model_name_or_path: no such folder ./nothing"):
            load("./nothing")


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_left_padding_answers_as_each_example_alone(model_type, pooling):
    model = tiny_model(model_type, exit_pooling=pooling)
    pad = model.config.backbone_config.pad_token_id
    lengths = [9, 3, 12, 5]
    right_ids, right_mask = padded_batch(model, lengths)
    left_ids, left_mask = torch.full_like(right_ids, pad), torch.zeros_like(right_mask)
    for row, length in enumerate(lengths):
        left_ids[row, -length:], left_mask[row, -length:] = right_ids[row, :length], 1
    for rule in ("certainty", "entropy", "patience"):
        kwargs = dict(rule=rule, patience=1) if rule == "patience" else dict(rule=rule, threshold=0.6)
        right = model.early_exit_forward(right_ids, attention_mask=right_mask, **kwargs)
        left = model.early_exit_forward(left_ids, attention_mask=left_mask, **kwargs)
        torch.testing.assert_close(left.logits, right.logits, atol=1e-5, rtol=1e-4)
        assert left.exit_layers.tolist() == right.exit_layers.tolist()
    full_left = model(left_ids, attention_mask=left_mask).exit_logits
    torch.testing.assert_close(full_left, model(right_ids, attention_mask=right_mask).exit_logits, atol=1e-5, rtol=0)


# Data files: (name, file content as bytes, load_task arguments, error type, message).
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
]


@pytest.mark.parametrize(("main", "argv", "message"), CLI_ARGUMENTS, ids=[" ".join(c[1]) for c in CLI_ARGUMENTS])
def test_bad_cli_arguments_are_one_line_naming_the_argument(capsys, tmp_path, monkeypatch, main, argv, message):
    monkeypatch.chdir(tmp_path)
    err = one_line_error(capsys, main, argv)
    assert re.search(message, err), err
    assert not (tmp_path / "x").exists()
