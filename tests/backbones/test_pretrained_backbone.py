"""Integration: the real packaged MiniLM-L6 BERT as a BERxiT backbone."""

import pytest
import torch
from transformers import AutoTokenizer, BertModel
from transformers.testing_utils import CaptureLogger

from berxit import BerxitForSequenceClassification, BerxitModel
from berxit.modeling_berxit import model as modeling_berxit


@pytest.fixture(scope="module")
def original(minilm_dir):
    return BertModel.from_pretrained(minilm_dir).eval()


@pytest.fixture(scope="module")
def berxit_minilm(minilm_dir):
    with CaptureLogger(modeling_berxit.logger) as captured:
        model = BerxitForSequenceClassification.from_pretrained_backbone(minilm_dir, num_labels=2)
    return model.eval(), captured.out


def test_every_backbone_weight_equals_the_original(original, berxit_minilm):
    model, _ = berxit_minilm
    original_state = original.state_dict()
    backbone_state = model.berxit.backbone.state_dict()
    assert backbone_state.keys() == {key for key in original_state if not key.startswith("pooler.")}
    for key, value in backbone_state.items():
        assert torch.equal(value, original_state[key]), key
    for exit_ in model.berxit.exits:
        assert torch.equal(exit_.pooler.dense.weight, original.pooler.dense.weight)
        assert torch.equal(exit_.pooler.dense.bias, original.pooler.dense.bias)
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384


def test_only_new_weights_are_announced(berxit_minilm):
    _, log = berxit_minilm
    assert "exits.*.classifier, certainty_head" in log
    assert "exits.*.pooler" not in log


def test_layer_by_layer_run_reproduces_bert(original, berxit_minilm, minilm_dir):
    model, _ = berxit_minilm
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    batch = tokenizer(
        ["a charming and often affecting journey .", "bleak", "the movie is a mess , but a lovable one ."],
        padding=True,
        return_tensors="pt",
    )
    # The packaged MiniLM declares mean pooling (sentence-transformers' 1_Pooling), so its exits pool the mean.
    assert model.config.exit_pooling == "mean"
    cls_model = BerxitForSequenceClassification.from_pretrained_backbone(minilm_dir, num_labels=2, exit_pooling="cls")
    with torch.no_grad():
        reference = original(**batch)
        out = model(**batch)
        # The last exit's pooler is the pretrained pooler: over the masked mean of the last layer...
        pooled, logits = model.berxit.exits[-1](reference.last_hidden_state, batch["attention_mask"])
        mask = batch["attention_mask"][..., None].float()
        mean = (reference.last_hidden_state * mask).sum(1) / mask.sum(1)
        torch.testing.assert_close(pooled, original.pooler(mean[:, None]), atol=1e-5, rtol=1e-4)
        # ... or over [CLS], where its pooled vector is BertModel's own pooler_output.
        cls_pooled, _ = cls_model.eval().berxit.exits[-1](reference.last_hidden_state, batch["attention_mask"])
    torch.testing.assert_close(cls_pooled, reference.pooler_output, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.logits, logits, atol=1e-5, rtol=1e-4)
    early = model.early_exit_forward(**batch, threshold=1.0)
    torch.testing.assert_close(early.logits, out.logits, atol=1e-5, rtol=1e-4)


def test_attention_implementation_is_sdpa(berxit_minilm):
    model, _ = berxit_minilm
    assert model.berxit.backbone.config._attn_implementation == "sdpa"


def test_both_classes_start_from_a_backbone(minilm_dir, tmp_path):
    model = BerxitModel.from_pretrained_backbone(minilm_dir, num_labels=1, exit_threshold=0.7)
    assert model.config.is_regression and model.config.exit_threshold == 0.7
    model.save_pretrained(tmp_path)
    assert BerxitForSequenceClassification.from_pretrained(tmp_path).config.exit_threshold == 0.7


def test_checkpoint_without_pooler_gets_new_exit_poolers(tmp_path, model_type):
    from tiny_models import tiny_backbone
    from transformers import AutoConfig, AutoModel

    backbone_kwargs = tiny_backbone(model_type)
    config = AutoConfig.for_model(backbone_kwargs.pop("model_type"), **backbone_kwargs)
    plain = AutoModel.from_config(config, add_pooling_layer=False)
    plain.save_pretrained(tmp_path)
    with CaptureLogger(modeling_berxit.logger) as captured:
        model = BerxitModel.from_pretrained_backbone(tmp_path, num_labels=3)
    assert "exits.*.pooler, exits.*.classifier, certainty_head" in captured.out
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, plain.state_dict()[key]), key
