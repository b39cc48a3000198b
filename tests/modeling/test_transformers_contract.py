"""What transformers' own common model tests ask of every model, on a tiny config of every family: `torch.export`
of `forward`, config overrides at load, `inputs_embeds` at the embedding width, and the same initial weights
from the constructor as from `from_pretrained` with every weight missing."""

import pytest
import torch
from safetensors.torch import save_file
from tiny_models import FAMILIES, padded_batch, tiny_config, tiny_model
from transformers import AutoModel, AutoModelForSequenceClassification, pipeline

from berxit import BerxitConfig, BerxitForSequenceClassification, BerxitModel


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def test_forward_exports_with_torch_export(family):
    model = tiny_model(family, cls=BerxitForSequenceClassification)
    input_ids, attention_mask = padded_batch(model, [6, 3])
    exported = torch.export.export(model, (), {"input_ids": input_ids, "attention_mask": attention_mask})
    ours = exported.module()(input_ids=input_ids, attention_mask=attention_mask)
    eager = model(input_ids=input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(ours.exit_logits, eager.exit_logits)
    torch.testing.assert_close(ours.certainties, eager.certainties)


def test_the_checks_still_refuse_bad_values_outside_tracing(family):
    model = tiny_model(family)
    input_ids, attention_mask = padded_batch(model, [6, 3])
    with pytest.raises(ValueError, match="input_ids: ids must lie in"):
        model(input_ids=input_ids + 1000, attention_mask=attention_mask)


def test_config_overrides_at_load_go_to_the_backbone(tmp_path, family):
    torch.manual_seed(0)
    BerxitModel(tiny_config(family)).save_pretrained(tmp_path)
    fewer = AutoModel.from_pretrained(tmp_path, num_hidden_layers=2)
    assert fewer.config.num_hidden_layers == fewer.config.backbone_config.num_hidden_layers == 2
    assert len(fewer.exits) == 2
    smaller = AutoModel.from_pretrained(tmp_path, vocab_size=10, ignore_mismatched_sizes=True)
    assert smaller.config.backbone_config.vocab_size == 10
    assert smaller.get_input_embeddings().weight.shape[0] == 10
    with pytest.raises(OSError, match="pretrained_model_name_or_path: the sizes in the config of .* disagree"):
        AutoModel.from_pretrained(tmp_path, vocab_size=10)
    labelled = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_hidden_states=True)
    assert labelled.config.output_hidden_states


def test_config_settings_of_the_backbone_are_the_backbones(family):
    config = tiny_config(family, hidden_size=64, num_hidden_layers=2)
    assert config.hidden_size == config.backbone_config.hidden_size == 64
    assert config.num_hidden_layers == config.backbone_config.num_hidden_layers == 2
    config.num_hidden_layers = 3
    assert config.backbone_config.num_hidden_layers == 3


@pytest.mark.parametrize(
    "id2label", [{0: "neg", 2: "pos"}, {0: "neg"}, {"0": "neg", "1": "pos", "2": "other"}], ids=["gap", "few", "many"]
)
def test_class_names_must_cover_the_class_ids(tmp_path, id2label):
    with pytest.raises(ValueError, match=r"id2label: expected one name for each class id 0\.\.1"):
        tiny_config(num_labels=2, id2label=id2label)
    BerxitForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"id2label: expected one name for each class id 0\.\.1"):
        AutoModelForSequenceClassification.from_pretrained(tmp_path, id2label=id2label)


def test_class_names_given_at_load_reach_the_pipeline(tmp_path, minilm_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    backbone = {**tiny_config().backbone_config.to_dict(), "vocab_size": len(tokenizer)}
    BerxitForSequenceClassification(BerxitConfig(backbone_config=backbone, num_labels=2)).save_pretrained(tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path, id2label={0: "neg", 1: "pos"})
    (scores,) = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None)(["a fine film"])
    assert sorted(score["label"] for score in scores) == ["neg", "pos"]


def test_inputs_embeds_have_the_embedding_width(family):
    model = tiny_model(family)
    input_ids, attention_mask = padded_batch(model, [6, 3])
    embeds = model.get_input_embeddings()(input_ids)  # (batch, length, embedding size): 16 for albert and electra
    from_embeds = model(inputs_embeds=embeds, attention_mask=attention_mask)
    from_ids = model(input_ids=input_ids, attention_mask=attention_mask)
    torch.testing.assert_close(from_embeds.exit_logits, from_ids.exit_logits)
    with pytest.raises(ValueError, match="inputs_embeds: expected vectors of the backbone's embedding size"):
        model(inputs_embeds=torch.zeros(2, 3, embeds.shape[-1] + 1))


def test_missing_weights_start_as_the_constructor_starts_them(tmp_path, family):
    """Every weight missing: `from_pretrained` initialises each module by its family's scheme, as the constructor
    does (ModernBERT scales its output projections by depth). The draws come in another order, so the spread of
    each weight is compared, not its values."""
    torch.manual_seed(0)
    built = BerxitModel(tiny_config(family))
    built.save_pretrained(tmp_path)
    save_file({}, tmp_path / "model.safetensors", metadata={"format": "pt"})
    loaded = BerxitModel.from_pretrained(tmp_path).state_dict()
    for name, value in built.state_dict().items():
        if value.is_floating_point() and value.numel() >= 256:
            ratio = float(loaded[name].std() / value.std())
            assert 0.8 < ratio < 1.25, f"{name}: std {float(loaded[name].std()):.4f} against {float(value.std()):.4f}"
        elif value.is_floating_point():
            assert torch.equal(loaded[name] == 0, value == 0) or value.numel() < 256, name


def test_starting_from_a_checkpoint_says_what_becomes_of_its_weights(minilm_dir):
    from transformers.testing_utils import CaptureLogger
    from transformers.utils import logging

    report = logging.get_logger("transformers.modeling_utils")
    ours = logging.get_logger("transformers.berxit.modeling_berxit.model")
    with CaptureLogger(report) as transformers_log, CaptureLogger(ours) as berxit_log:
        BerxitForSequenceClassification.from_pretrained_backbone(minilm_dir, num_labels=2)
    assert "UNEXPECTED" not in transformers_log.out
    assert "every backbone weight is loaded; its pooler (or head) is copied into every exit's pooler" in berxit_log.out
