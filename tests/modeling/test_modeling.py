import pytest
import torch
from tiny_models import padded_batch, tiny_model
from torch.nn import functional as F

from berxit import BerxitForSequenceClassification


def test_forward_returns_every_exit(model_type):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    out = model(input_ids, attention_mask=attention_mask)
    assert out.exit_logits.shape == (3, 4, 3)
    assert out.certainties.shape == (3, 4)
    assert ((out.certainties >= 0) & (out.certainties <= 1)).all()
    torch.testing.assert_close(out.logits, out.exit_logits[:, -1])
    assert out.loss is None and out.exit_layers is None


def test_objectives_sum_the_right_exits_plus_certainty():
    model = tiny_model(num_labels=3).train()
    input_ids, attention_mask = padded_batch(model, [6, 4, 5, 2])
    labels = torch.tensor([0, 2, 1, 1])
    losses = {}
    for objective in ("all_exits", "final_exit", "early_exits"):
        out = model(input_ids, attention_mask=attention_mask, labels=labels, objective=objective)
        per_exit = torch.stack([F.cross_entropy(out.exit_logits[:, i], labels) for i in range(4)])
        correct = (out.exit_logits.argmax(-1) == labels[:, None]).float()
        torch.testing.assert_close(out.certainty_loss, F.mse_loss(out.certainties, correct))
        torch.testing.assert_close(out.loss, out.task_loss + out.certainty_loss)
        losses[objective] = (out.task_loss, per_exit)
    torch.testing.assert_close(losses["all_exits"][0], losses["all_exits"][1].sum())
    torch.testing.assert_close(losses["final_exit"][0], losses["final_exit"][1][-1])
    torch.testing.assert_close(losses["early_exits"][0], losses["early_exits"][1][:-1].sum())


def test_final_exit_objective_trains_no_early_task_head():
    model = tiny_model().train()
    input_ids, attention_mask = padded_batch(model, [6, 4])
    model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 1]), objective="final_exit").loss.backward()
    assert all(exit_.classifier.weight.grad is None for exit_ in model.exits[:-1])
    assert model.exits[-1].classifier.weight.grad.abs().sum() > 0


def test_certainty_loss_reaches_backbone_but_not_through_targets():
    # Regression targets 1 - tanh(|y_hat - y|) depend on the task head: only detaching them keeps it gradient-free.
    model = tiny_model(num_labels=1).train()
    input_ids, attention_mask = padded_batch(model, [6, 4, 3])
    out = model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0.5, 2.0, -1.0]))
    out.certainty_loss.backward()
    assert all(exit_.classifier.weight.grad is None for exit_ in model.exits)
    assert model.certainty_head.classifier.weight.grad.abs().sum() > 0
    assert model.exits[0].pooler.dense.weight.grad.abs().sum() > 0
    assert model.backbone.encoder.layer[0].attention.self.query.weight.grad.abs().sum() > 0
    assert model.backbone.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_regression_targets_and_loss():
    model = tiny_model(num_labels=1).train()
    input_ids, attention_mask = padded_batch(model, [6, 4])
    labels = torch.tensor([[0.5], [2.0]])  # (batch, 1) is accepted like (batch,)
    out = model(input_ids, attention_mask=attention_mask, labels=labels, objective="final_exit")
    predictions = out.exit_logits.squeeze(-1)
    target = 1 - torch.tanh((predictions - labels).abs())
    torch.testing.assert_close(out.certainty_loss, F.mse_loss(out.certainties, target))
    torch.testing.assert_close(out.task_loss, F.mse_loss(predictions[:, -1], labels.squeeze(1)))


@pytest.mark.parametrize("cls", [None, BerxitForSequenceClassification])
def test_regression_outputs_start_at_the_given_value(cls):
    model = tiny_model(num_labels=1, **({} if cls is None else {"cls": cls}))
    input_ids, attention_mask = padded_batch(model, [6, 4])
    before = model(input_ids, attention_mask=attention_mask).exit_logits
    old_bias = torch.stack([exit_.classifier.bias for exit_ in model.base_model.exits]).squeeze(-1)
    model.init_regression_outputs(2.7)
    after = model(input_ids, attention_mask=attention_mask).exit_logits
    # Every exit's prediction moves by its bias change and nothing else moves.
    torch.testing.assert_close(after.squeeze(-1), before.squeeze(-1) + (2.7 - old_bias))
    assert all(float(exit_.classifier.bias) == pytest.approx(2.7) for exit_ in model.base_model.exits)


def test_regression_outputs_refuse_bad_calls():
    with pytest.raises(ValueError, match="init_regression_outputs: this model classifies"):
        tiny_model(num_labels=3).init_regression_outputs(1.0)
    for value in (float("nan"), "2.5"):
        with pytest.raises(ValueError, match="value: expected a finite number"):
            tiny_model(num_labels=1).init_regression_outputs(value)


def test_sequence_classification_class_wraps_the_model():
    model = tiny_model(cls=BerxitForSequenceClassification)
    input_ids, attention_mask = padded_batch(model, [5, 2])
    out = model(input_ids, attention_mask=attention_mask)
    base_out = model.berxit(input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(out.exit_logits, base_out.exit_logits)
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5)
    assert early.exit_layers.shape == (2,)


@pytest.mark.parametrize(
    ("num_labels", "labels", "error", "message"),
    [
        (3, torch.tensor([0.0, 1.0]), TypeError, "integer class indices"),
        (3, torch.tensor([True, False]), TypeError, "integer class indices"),
        (3, torch.tensor([0, 1, 2]), ValueError, r"shape \(2,\)"),
        (3, torch.tensor([[0, 1]]), ValueError, r"shape \(2,\)"),
        (3, torch.tensor([0, 3]), ValueError, r"\[0, 3\)"),
        (3, torch.tensor([-1, 0]), ValueError, r"\[0, 3\)"),
        (1, torch.tensor([0, 1]), TypeError, "floating-point"),
        (1, torch.tensor([[0.5, 1.0], [0.5, 1.0]]), ValueError, r"shape \(2,\)"),
        (3, [0, 1], TypeError, "torch.Tensor"),
    ],
)
def test_bad_labels_are_named(num_labels, labels, error, message):
    model = tiny_model(num_labels=num_labels)
    input_ids, attention_mask = padded_batch(model, [5, 2])
    with pytest.raises(error, match=f"labels: .*{message}"):
        model(input_ids, attention_mask=attention_mask, labels=labels)


def test_bad_inputs_are_named(model_type):
    model = tiny_model(model_type)
    input_ids, attention_mask = padded_batch(model, [5, 2])
    limit = 64
    cases = [
        (dict(input_ids=input_ids, attention_mask=attention_mask[:, :3]), ValueError, "attention_mask: expected"),
        (dict(input_ids=input_ids, token_type_ids=attention_mask[:1]), ValueError, "token_type_ids: expected"),
        (dict(input_ids=input_ids[:0]), ValueError, "input_ids: the batch is empty"),
        (dict(input_ids=torch.full((1, limit + 1), 5)), ValueError, f"exceed the backbone's limit of {limit}"),
        (dict(input_ids=input_ids[0]), ValueError, "input_ids: expected a 2-d tensor"),
        (dict(input_ids=input_ids.float()), TypeError, "input_ids: expected integer"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            model(**kwargs)
        with pytest.raises(error, match=message):
            model.early_exit_forward(**kwargs, threshold=0.5)
    with pytest.raises(ValueError, match="objective"):
        model(input_ids, objective="everything")
    model(torch.full((1, limit), 5))  # the longest allowed sequence runs


def test_the_layer_step_api_reproduces_forward(model_type):
    """`embed_inputs`, `layer_context` and `run_layer`, driven by hand, give every exit's logits and certainty."""
    model = tiny_model(model_type).eval()
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    with torch.no_grad():
        out = model(input_ids, attention_mask=attention_mask)
        base = model.base_model
        hidden_states, mask, position_ids = base.embed_inputs(input_ids, attention_mask, None, None, None)
        context = base.layer_context(hidden_states, mask, position_ids)
        for index in range(model.config.num_hidden_layers):
            hidden_states, logits, certainty = base.run_layer(index, hidden_states, mask, context)
            torch.testing.assert_close(logits, out.exit_logits[:, index])
            torch.testing.assert_close(certainty, out.certainties[:, index])
