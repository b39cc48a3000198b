"""Exit rules are objects that own their facts: a rule registered from this file alone is served by the config,
`forward`, `early_exit_forward`, the scheduler, the sweep's curves and chooser, the metrics and the model card."""

import pytest
import torch
from tiny_models import padded_batch, tiny_model

from berxit import BerxitMetrics
from berxit.evaluation import ExitRecord, Promise, curve, find_operating_point
from berxit.exit_rules.rules import EXIT_RULES, ThresholdRule, register_exit_rule, replay_exits, rules_for
from berxit.serving import LayerQueueScheduler


class MarginRule(ThresholdRule):
    """A fourth rule: exit once the two most likely classes are at least τ apart."""

    name = "margin"
    needs_classes = True

    def score(self, logits, certainty):
        top = logits.float().softmax(-1).topk(2, dim=-1).values  # (rows, 2)
        return top[:, 0] - top[:, 1]


@pytest.fixture
def margin_rule():
    register_exit_rule(MarginRule)
    yield MarginRule
    del EXIT_RULES[MarginRule.name]


def test_a_rule_registered_in_one_file_is_served_everywhere(margin_rule, model_type):
    model = tiny_model(model_type, exit_rule="margin", exit_threshold=0.5)
    assert model.config.has_operating_point and "margin" in rules_for(model.config)
    input_ids, attention_mask = padded_batch(model, [9, 3, 12, 5, 7, 4])
    with torch.no_grad():
        full = model(input_ids, attention_mask=attention_mask, early_exit=False)
    layers, logits = replay_exits(MarginRule(0.5, model.config.num_hidden_layers), full.exit_logits, full.certainties)
    assert len(set(layers.tolist())) > 1, "the test needs examples that leave at different layers"

    served = model(input_ids, attention_mask=attention_mask)  # eval mode at the config's operating point
    dynamic = model.early_exit_forward(input_ids, attention_mask=attention_mask, rule="margin", threshold=0.5)
    rows = [{"input_ids": ids[None, : int(m.sum())]} for ids, m in zip(input_ids, attention_mask, strict=True)]
    scheduled = LayerQueueScheduler(model, batch_size=2).run(rows)
    for answer in (served, dynamic, scheduled):
        assert answer.exit_layers.tolist() == layers.tolist()
        torch.testing.assert_close(answer.logits, logits, atol=1e-5, rtol=1e-4)

    labels = torch.randint(0, 3, (len(layers),))
    record = ExitRecord(full.exit_logits, full.certainties, labels)
    points = curve(model.config, record, "margin")
    assert [point["setting"] for point in points] == MarginRule.settings(model.config.num_hidden_layers)
    promise = Promise("harm", epsilon=1.0)  # any harm is accepted: every setting is certified
    chosen = find_operating_point(model.config, {"validation": record, "test": record}, "margin", "accuracy", promise)
    assert chosen["chosen"]["rule"] == "margin" and chosen["on_test"]["saved_layers"] > 0

    metrics = BerxitMetrics(model.config)  # the config's rule and operating point
    from transformers import EvalPrediction

    predictions = (logits, full.exit_logits, full.certainties)
    reported = metrics(EvalPrediction(predictions=predictions, label_ids=labels))
    assert reported["avg_exit_layer"] == pytest.approx(float(layers.float().mean()))


def test_rules_that_need_classes_are_refused_on_regression(margin_rule):
    model = tiny_model(num_labels=1)
    assert rules_for(model.config) == ["certainty"]
    with pytest.raises(ValueError, match="rule: the 'margin' rule needs class probabilities"):
        model.early_exit_forward(torch.tensor([[5, 6, 7]]), rule="margin", threshold=0.5)


def test_forward_answers_the_type_the_caller_asks_for(model_type):
    model = tiny_model(model_type, exit_threshold=0.5)
    input_ids, attention_mask = padded_batch(model, [5, 3])
    served = model(input_ids, attention_mask=attention_mask)
    assert served.exit_layers is not None and not hasattr(served, "exit_logits")
    full = model(input_ids, attention_mask=attention_mask, early_exit=False)
    assert full.exit_logits.shape[1] == model.config.num_hidden_layers
    early = model(input_ids, attention_mask=attention_mask, early_exit=True)
    torch.testing.assert_close(early.logits, served.logits)
    with pytest.raises(ValueError, match="early_exit: True answers from each example's own exit"):
        model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 1]), early_exit=True)
    with pytest.raises(TypeError, match="early_exit: expected True, False or None"):
        model(input_ids, attention_mask=attention_mask, early_exit="yes")
