"""Careless inputs to the model, its config and the training API, as a new user meets them: each is refused with the
error type and a message that names the argument."""

import pytest
import torch
from tiny_models import padded_batch, tiny_model
from transformers import DistilBertConfig, GPT2Config

from berxit import BerxitConfig, BerxitForSequenceClassification, BerxitMetrics, BerxitModel, BerxitTrainingArguments

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
