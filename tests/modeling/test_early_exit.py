import pytest
import torch
from tiny_models import padded_batch, splitting_rule, tiny_model

from berxit.exit_rules.rules import entropy_confidence

LENGTHS = [9, 3, 12, 5, 12, 1, 7, 4]
RULES = ["certainty", "entropy", "patience"]


def run_alone(model, input_ids, attention_mask, **kwargs):
    """Each example alone, without its padding: what one-at-a-time implementations do."""
    rows = []
    for ids, mask in zip(input_ids, attention_mask, strict=True):
        length = int(mask.sum())
        rows.append(model.early_exit_forward(ids[None, :length], attention_mask=mask[None, :length], **kwargs))
    return rows


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("rule", RULES)
def test_batch_equals_each_example_alone(model_type, rule, pooling):
    # Seed 0 gives random exits whose predictions change across layers with either pooling: patience has work to do.
    model = tiny_model(model_type, exit_pooling=pooling, seed=0)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model, input_ids, attention_mask, rule)
    batched = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    alone = run_alone(model, input_ids, attention_mask, **kwargs)
    assert batched.exit_layers.tolist() == [int(row.exit_layers) for row in alone]
    torch.testing.assert_close(batched.logits, torch.cat([row.logits for row in alone]), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(batched.certainties, torch.cat([row.certainties for row in alone]), atol=1e-5, rtol=1e-4)
    assert len(set(batched.exit_layers.tolist())) > 1, "the test needs examples that leave at different layers"
    assert batched.num_layers_computed == int(batched.exit_layers.sum())


@pytest.mark.parametrize("rule", RULES)
def test_answers_are_those_of_their_exit_layer(model_type, rule):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model, input_ids, attention_mask, rule)
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    full = model(input_ids, attention_mask=attention_mask)
    rows = torch.arange(len(LENGTHS))
    index = early.exit_layers - 1
    torch.testing.assert_close(early.logits, full.exit_logits[rows, index], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(early.certainties, full.certainties[rows, index], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_finished_examples_leave_the_batch(model_type, pooling):
    model = tiny_model(model_type, exit_pooling=pooling)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model, input_ids, attention_mask, "certainty")
    seen = []
    hooks = [
        layer.register_forward_hook(lambda module, args, output: seen.append(tuple(args[0].shape[:2])))
        for layer in model.backbone.encoder.layer
    ]
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    for hook in hooks:
        hook.remove()
    for layer, (batch, length) in enumerate(seen):
        still_running = early.exit_layers > layer
        assert batch == int(still_running.sum())
        assert length == int(attention_mask[still_running].sum(1).max())  # trimmed to the longest active example
    assert len(seen) == int(early.exit_layers.max())


def test_threshold_nobody_meets_equals_forward(model_type):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    full = model(input_ids, attention_mask=attention_mask)
    assert full.certainties.max() < 1.0
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=1.0)
    assert early.exit_layers.tolist() == [4] * len(LENGTHS)
    torch.testing.assert_close(early.logits, full.logits, atol=1e-5, rtol=1e-4)
    assert early.num_layers_computed == 4 * len(LENGTHS)


@pytest.mark.parametrize("rule", ["certainty", "entropy"])
def test_threshold_zero_exits_at_the_first_layer(model_type, rule):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.0, rule=rule)
    assert early.exit_layers.tolist() == [1] * len(LENGTHS)
    first = model(input_ids, attention_mask=attention_mask).exit_logits[:, 0]
    torch.testing.assert_close(early.logits, first, atol=1e-5, rtol=1e-4)


def test_batch_of_one_and_no_mask(model_type):
    model = tiny_model(model_type)
    input_ids, _ = padded_batch(model, [6])
    with_mask = model.early_exit_forward(input_ids, attention_mask=torch.ones_like(input_ids), threshold=0.5)
    without = model.early_exit_forward(input_ids, threshold=0.5)
    assert with_mask.exit_layers.tolist() == without.exit_layers.tolist()
    torch.testing.assert_close(with_mask.logits, without.logits)


def test_patience_waits_for_agreeing_layers():
    model = tiny_model()
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    predictions = model(input_ids, attention_mask=attention_mask).exit_logits.argmax(-1).tolist()
    for patience in (1, 2):
        early = model.early_exit_forward(input_ids, attention_mask=attention_mask, rule="patience", patience=patience)
        for row, layer in zip(predictions, early.exit_layers.tolist(), strict=True):
            streak, expected = 0, 4
            for index in range(1, 3 + 1):
                streak = streak + 1 if row[index] == row[index - 1] else 0
                if streak >= patience and index < 3:
                    expected = index + 1
                    break
            assert layer == expected


def test_entropy_confidence_is_stable_and_bounded():
    logits = torch.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [3.0, 1.0, 0.5]])
    confidence = entropy_confidence(logits)
    assert torch.isfinite(confidence).all()
    torch.testing.assert_close(confidence[:2], torch.tensor([1.0, 0.0]))
    assert 0 < confidence[2] < 1


def test_eval_forward_serves_at_the_configured_threshold(model_type):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    model.config.exit_threshold = splitting_rule(model, input_ids, attention_mask, "certainty")["threshold"]
    served = model(input_ids, attention_mask=attention_mask)
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask)
    assert served.exit_layers.tolist() == early.exit_layers.tolist()
    assert len(set(early.exit_layers.tolist())) > 1
    # With labels every layer runs (for losses and per-exit metrics) and `logits` holds the same answers.
    labelled = model(input_ids, attention_mask=attention_mask, labels=torch.zeros(len(LENGTHS), dtype=torch.long))
    assert labelled.exit_layers.tolist() == early.exit_layers.tolist()
    assert labelled.exit_logits.shape == (len(LENGTHS), 4, 3)
    torch.testing.assert_close(labelled.logits, early.logits, atol=1e-5, rtol=1e-4)
    # Training always runs every layer and answers with the final exit.
    trained = model.train()(input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(trained.logits, trained.exit_logits[:, -1])


def test_regression_exits_on_certainty():
    model = tiny_model(num_labels=1)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model, input_ids, attention_mask, "certainty")
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
    assert early.logits.shape == (len(LENGTHS), 1)
    assert len(set(early.exit_layers.tolist())) > 1


@pytest.mark.parametrize(
    ("num_labels", "kwargs", "error", "message"),
    [
        (1, dict(rule="entropy", threshold=0.5), ValueError, "regression"),
        (1, dict(rule="patience"), ValueError, "regression"),
        (3, dict(threshold=1.01), ValueError, r"threshold: expected values in \[0, 1\]"),
        (3, dict(threshold=-0.5), ValueError, r"threshold: expected values in \[0, 1\]"),
        (3, dict(threshold=[0.5] * 4), ValueError, "num_hidden_layers - 1 = 3"),
        (3, dict(threshold="0.5"), TypeError, "threshold"),
        (3, dict(rule="margin", threshold=0.5), ValueError, "rule: expected one of"),
        (3, dict(rule="patience", patience=0), ValueError, "patience"),
        (3, dict(rule="patience", threshold=0.5), ValueError, "patience rule takes no threshold"),
        (
            3,
            dict(rule="certainty", threshold=0.5, patience=2),
            ValueError,
            "patience: the certainty rule takes no",
        ),
        (3, dict(), ValueError, "config.exit_threshold is not set"),
    ],
)
def test_bad_exit_settings_are_named(num_labels, kwargs, error, message):
    model = tiny_model(num_labels=num_labels)
    input_ids, attention_mask = padded_batch(model, [4, 2])
    with pytest.raises(error, match=message):
        model.early_exit_forward(input_ids, attention_mask=attention_mask, **kwargs)
