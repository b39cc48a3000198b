"""The training recipes beside the paper's (#24): what the certainty head reads, its loss and its reach,
distillation into the early exits, gradient equilibrium. Each changes the loss or the gradients as documented and
leaves the paper's recipe exactly as it was."""

import pytest
import torch
from tiny_models import padded_batch, tiny_config, tiny_model
from torch.nn import functional as F

from berxit import BerxitModel, BerxitObjective
from berxit.exit_rules.rules import entropy_confidence
from berxit.modeling_berxit.exits import answer_features


def batch(model, labels):
    input_ids, attention_mask = padded_batch(model, [6, 4, 5, 2][: len(labels)])
    return dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)


def test_the_paper_recipe_is_the_default_objective():
    model = tiny_model(num_labels=3).train()
    inputs = batch(model, torch.tensor([0, 2, 1, 1]))
    torch.manual_seed(0)
    by_name = model(**inputs, objective="all_exits")
    torch.manual_seed(0)
    by_object = model(**inputs, objective=BerxitObjective())
    torch.testing.assert_close(by_name.loss, by_object.loss)
    assert by_name.distillation_loss is None


def test_a_head_that_reads_the_answer_sees_probabilities_margin_and_negentropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    features = answer_features(logits)
    probabilities = logits.softmax(-1)
    torch.testing.assert_close(features[:, :3], probabilities)
    top = probabilities.topk(2).values
    torch.testing.assert_close(features[:, 3], top[:, 0] - top[:, 1])
    torch.testing.assert_close(features[:, 4], entropy_confidence(logits))
    torch.testing.assert_close(answer_features(torch.tensor([[1.5]])), torch.tensor([[1.5]]))  # regression


@pytest.mark.parametrize("num_labels", [3, 1])
def test_a_head_that_reads_the_answer_never_trains_the_exit_to_change_it(num_labels, model_type):
    model = tiny_model(model_type, num_labels=num_labels, certainty_inputs="pooled_and_answer").train()
    width = model.config.hidden_size + (1 if num_labels == 1 else num_labels + 2)
    assert model.certainty_head.classifier.in_features == width
    labels = torch.tensor([0.5, 2.0, -1.0]) if num_labels == 1 else torch.tensor([0, 2, 1])
    out = model(**batch(model, labels))
    out.certainty_loss.backward()
    assert all(exit_.classifier.weight.grad is None for exit_ in model.exits)  # the answer is read detached
    assert model.certainty_head.classifier.weight.grad[0, -1].abs() > 0  # and it is read


def test_a_head_that_reads_the_answer_starts_as_the_entropy_score():
    model = BerxitModel(tiny_config(num_labels=3, certainty_inputs="pooled_and_answer")).eval()
    head = model.certainty_head
    assert head.classifier.weight[0, -1] == head.START and head.classifier.bias == -head.START / 2
    with torch.no_grad():
        head.classifier.weight[0, :-1] = 0  # what the pooled vector adds, left out
    inputs = batch(model, torch.tensor([0, 2, 1]))
    del inputs["labels"]
    out = model(**inputs)
    expected = torch.sigmoid(head.START * (entropy_confidence(out.exit_logits) - 0.5))
    torch.testing.assert_close(out.certainties, expected)


def test_the_head_reads_the_answer_after_saving_and_loading(tmp_path):
    model = tiny_model(num_labels=2, certainty_inputs="pooled_and_answer").eval()
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path).eval()
    assert loaded.config.certainty_inputs == "pooled_and_answer"
    inputs = batch(model, torch.tensor([0, 1, 1]))
    del inputs["labels"]
    torch.testing.assert_close(loaded(**inputs).certainties, model(**inputs).certainties)


def test_bce_and_the_certainty_weight():
    model = tiny_model(num_labels=3).train()
    labels = torch.tensor([0, 2, 1, 1])
    inputs = batch(model, labels)
    out = model(**inputs, objective=BerxitObjective(certainty_loss="bce", certainty_weight=0.5))
    correct = (out.exit_logits.argmax(-1) == labels[:, None]).float()
    torch.testing.assert_close(out.certainty_loss, F.binary_cross_entropy(out.certainties, correct))
    torch.testing.assert_close(out.loss, out.task_loss + 0.5 * out.certainty_loss)


def test_the_agreement_target_measures_each_exit_against_the_final_exit():
    model = tiny_model(num_labels=3).train()
    inputs = batch(model, torch.tensor([0, 2, 1, 1]))
    out = model(**inputs, objective=BerxitObjective(certainty_target="agreement"))
    final = out.exit_logits[:, -1].argmax(-1)  # (batch,): the labels play no part
    agrees = (out.exit_logits.argmax(-1) == final[:, None]).float()
    assert agrees[:, -1].all()
    torch.testing.assert_close(out.certainty_loss, F.mse_loss(out.certainties, agrees))
    # Regression: 1 - tanh of the distance to the final exit's prediction.
    model = tiny_model(num_labels=1).train()
    out = model(**batch(model, torch.tensor([0.5, 2.0, -1.0])), objective=BerxitObjective(certainty_target="agreement"))
    predictions = out.exit_logits.squeeze(-1)  # (batch, layers)
    near = 1 - torch.tanh((predictions - predictions[:, -1:]).abs())
    torch.testing.assert_close(out.certainty_loss, F.mse_loss(out.certainties, near))


def test_a_head_only_certainty_loss_leaves_exits_and_backbone_alone():
    model = tiny_model(num_labels=1).train()
    out = model(**batch(model, torch.tensor([0.5, 2.0, -1.0])), objective=BerxitObjective(certainty_gradient="head"))
    out.certainty_loss.backward()
    assert model.certainty_head.classifier.weight.grad.abs().sum() > 0
    assert all(exit_.pooler.dense.weight.grad is None for exit_ in model.exits)
    assert model.backbone.embeddings.word_embeddings.weight.grad is None


def test_distillation_teaches_the_early_exits_the_final_answer():
    model = tiny_model(num_labels=3).train()
    inputs = batch(model, torch.tensor([0, 2, 1, 1]))
    temperature = 2.0
    objective = BerxitObjective(distillation_weight=0.3, distillation_temperature=temperature)
    out = model(**inputs, objective=objective)
    teacher = F.softmax(out.exit_logits[:, -1] / temperature, -1)
    expected = sum(
        F.kl_div(F.log_softmax(out.exit_logits[:, i] / temperature, -1), teacher, reduction="batchmean")
        for i in range(3)
    )
    torch.testing.assert_close(out.distillation_loss, expected * temperature**2)
    torch.testing.assert_close(out.loss, out.task_loss + out.certainty_loss + 0.3 * out.distillation_loss)
    model.zero_grad()
    out.distillation_loss.backward()
    assert model.exits[-1].classifier.weight.grad is None  # the teacher is detached
    assert model.exits[0].classifier.weight.grad.abs().sum() > 0
    # A step of the final exit alone has no early exit to teach.
    final_only = model(**inputs, objective=BerxitObjective("final_exit", distillation_weight=0.3))
    assert final_only.distillation_loss is None


def test_regression_distils_the_squared_difference():
    model = tiny_model(num_labels=1).train()
    out = model(**batch(model, torch.tensor([0.5, 2.0, -1.0])), objective=BerxitObjective(distillation_weight=1.0))
    predictions = out.exit_logits.squeeze(-1)
    expected = sum(F.mse_loss(predictions[:, i], predictions[:, -1]) for i in range(3))
    torch.testing.assert_close(out.distillation_loss, expected)


def test_gradient_equilibrium_averages_what_the_shared_layers_hear():
    # Every exit's loss, and the gradient reaching the embeddings: with equilibrium each layer's output passes on
    # 1/(exits to come) of its own exit's gradient and (k-1)/k of what comes from above, so one exit's loss reaches
    # the first layer scaled by 1/L.
    model = tiny_model(num_labels=3).train()
    inputs = batch(model, torch.tensor([0, 2, 1, 1]))
    grads = {}
    for equilibrium in (False, True):
        model.zero_grad()
        out = model(**inputs, objective=BerxitObjective(gradient_equilibrium=equilibrium))
        F.cross_entropy(out.exit_logits[:, 0], inputs["labels"]).backward()  # exit 1 only: its gradient, scaled
        grads[equilibrium] = model.backbone.embeddings.word_embeddings.weight.grad.clone()
    torch.testing.assert_close(grads[True], grads[False] / model.config.num_hidden_layers)
    with_equilibrium = model(**inputs, objective=BerxitObjective(gradient_equilibrium=True))
    torch.testing.assert_close(with_equilibrium.loss, model(**inputs).loss)  # the values do not change


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(exits="some"), "objective: expected one of"),
        (dict(certainty_target="labels"), "certainty_target: expected one of"),
        (dict(certainty_loss="hinge"), "certainty_loss: expected one of"),
        (dict(certainty_gradient="exits"), "certainty_gradient: expected one of"),
        (dict(certainty_weight=-1.0), "certainty_weight: expected a finite number >= 0"),
        (dict(distillation_weight=float("nan")), "distillation_weight: expected a finite number >= 0"),
        (dict(distillation_temperature=0.0), "distillation_temperature: expected a finite number > 0"),
        (dict(gradient_equilibrium="yes"), "gradient_equilibrium: expected True or False"),
    ],
)
def test_bad_objectives_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        BerxitObjective(**settings)


def test_bad_certainty_inputs_are_named():
    with pytest.raises(ValueError, match="certainty_inputs: expected one of"):
        tiny_model(certainty_inputs="logits")
