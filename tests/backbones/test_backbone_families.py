"""Every backbone family on its tiny random config: pretrained weights load exactly, the final exit is the family's
own classifier, batched early exit (and the layer-queue scheduler) equals each example alone, save/load, remote
code, the Trainer strategies, the command-line tools."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from tiny_models import FAMILIES, padded_batch, splitting_rule, tiny_backbone, tiny_model
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
)
from transformers.testing_utils import CaptureLogger

from berxit import BerxitForSequenceClassification, BerxitModel, BerxitTrainer, BerxitTrainingArguments
from berxit.modeling_berxit import model as modeling_berxit
from berxit.serving import LayerQueueScheduler

LENGTHS = [9, 3, 12, 5, 12, 1, 7, 4]
RULES = ["certainty", "entropy", "patience"]


@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


def family_classifier(family: str, seed: int = 0, **overrides):
    """The family's own `...ForSequenceClassification`, random, with a head far from zero."""
    backbone = {**tiny_backbone(family), **overrides}
    config = AutoConfig.for_model(backbone.pop("model_type"), num_labels=3, **backbone)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_config(config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if not name.startswith(model.base_model_prefix):
                parameter.normal_(0.0, 0.5)  # the heads: distinct from any fresh initialisation
    return model.eval()


def final_head(classifier) -> torch.nn.Linear:
    """The family head's last linear layer (`out_proj` inside RoBERTa's and ELECTRA's classification heads)."""
    head = classifier.classifier
    return head.out_proj if hasattr(head, "out_proj") else head


@pytest.mark.parametrize(
    ("family", "overrides"),
    [(family, {}) for family in FAMILIES] + [("modernbert", {"classifier_pooling": "mean"})],
    ids=[*FAMILIES, "modernbert-mean"],
)
def test_pretrained_weights_load_exactly_and_the_final_exit_is_the_family_classifier(tmp_path, family, overrides):
    source = family_classifier(family, **overrides)
    source.save_pretrained(tmp_path)
    with CaptureLogger(modeling_berxit.logger) as captured:
        model = BerxitForSequenceClassification.from_pretrained_backbone(tmp_path, num_labels=3).eval()
    # Every backbone weight is the checkpoint's, and only the task heads and the certainty head are new.
    source_backbone = source.base_model.state_dict()
    backbone = model.base_model.backbone.state_dict()
    assert set(backbone) == set(source_backbone) - {key for key in source_backbone if key.startswith("pooler.")}
    for key, value in backbone.items():
        assert torch.equal(value, source_backbone[key]), key
    assert "new and need fine-tuning: exits.*.classifier, certainty_head." in captured.out
    # The exits pool as the family's classifier does (ModernBERT declares it in `classifier_pooling`).
    assert model.config.exit_pooling == overrides.get("classifier_pooling", "cls")
    # With the family head's last layer in the final exit, the final exit answers as the family's classifier.
    final_exit = model.base_model.exits[-1]
    final_exit.classifier.load_state_dict(final_head(source).state_dict())
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    with torch.no_grad():
        expected = source(input_ids, attention_mask=attention_mask).logits
        got = model(input_ids, attention_mask=attention_mask).exit_logits[:, -1]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_plain_checkpoint_without_a_head_starts_new_poolers(tmp_path, family):
    backbone = tiny_backbone(family)
    AutoModel.from_config(AutoConfig.for_model(backbone.pop("model_type"), **backbone)).save_pretrained(tmp_path)
    with CaptureLogger(modeling_berxit.logger) as captured:
        BerxitModel.from_pretrained_backbone(tmp_path, num_labels=2)
    has_pooler = family in ("bert", "roberta", "xlm-roberta", "albert")  # their base models carry a pooler
    new = "exits.*.classifier, certainty_head" if has_pooler else "exits.*.pooler, exits.*.classifier"
    assert new in captured.out


def left_padded(model, input_ids, attention_mask):
    """The same batch padded on the left."""
    lengths = attention_mask.sum(-1)
    left_ids, left_mask = (
        torch.full_like(input_ids, model.config.backbone_config.pad_token_id),
        torch.zeros_like(attention_mask),
    )
    for row, length in enumerate(lengths.tolist()):
        left_ids[row, -length:] = input_ids[row, :length]
        left_mask[row, -length:] = 1
    return left_ids, left_mask


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("rule", RULES)
def test_batched_early_exit_equals_each_example_alone(family, rule, pooling):
    # Seed 0: random exits whose predictions change across layers in every family, so patience has work to do.
    model = tiny_model(family, exit_pooling=pooling, seed=0)
    input_ids, attention_mask = padded_batch(model, LENGTHS)
    kwargs = splitting_rule(model, input_ids, attention_mask, rule)
    alone = []
    for ids, mask in zip(input_ids, attention_mask, strict=True):
        length = int(mask.sum())
        alone.append(model.early_exit_forward(ids[None, :length], attention_mask=mask[None, :length], **kwargs))
    scheduler = LayerQueueScheduler(model, batch_size=3, **kwargs)
    for padded in ((input_ids, attention_mask), left_padded(model, input_ids, attention_mask)):
        batched = model.early_exit_forward(padded[0], attention_mask=padded[1], **kwargs)
        scheduled = scheduler.run([{"input_ids": padded[0], "attention_mask": padded[1]}])
        assert scheduled.exit_layers.tolist() == batched.exit_layers.tolist()
        torch.testing.assert_close(scheduled.logits, batched.logits, atol=1e-5, rtol=1e-4)
        assert batched.exit_layers.tolist() == [int(row.exit_layers) for row in alone]
        assert len(set(batched.exit_layers.tolist())) > 1, "the test needs examples that leave at different layers"
        torch.testing.assert_close(batched.logits, torch.cat([row.logits for row in alone]), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(
            batched.certainties, torch.cat([row.certainties for row in alone]), atol=1e-5, rtol=1e-4
        )


def test_save_and_load_through_auto_classes(tmp_path, family):
    model = tiny_model(family, cls=BerxitForSequenceClassification, exit_threshold=0.5)
    model.save_pretrained(tmp_path)
    for auto_cls in (AutoModel, AutoModelForSequenceClassification):
        loaded, info = auto_cls.from_pretrained(tmp_path, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
        saved_state, loaded_state = model.base_model.state_dict(), loaded.base_model.state_dict()
        assert saved_state.keys() == loaded_state.keys()
        assert all(torch.equal(value, loaded_state[key]) for key, value in saved_state.items())
    assert loaded.config.exit_threshold == 0.5
    input_ids, attention_mask = padded_batch(model, [6, 3])
    torch.testing.assert_close(
        loaded.early_exit_forward(input_ids, attention_mask=attention_mask).logits,
        model.early_exit_forward(input_ids, attention_mask=attention_mask).logits,
    )


FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    sys.modules["berxit"] = None  # the project is not importable here
    import torch
    from transformers import AutoModel, pipeline

    results = {}
    for folder in sys.argv[2:]:
        model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        inputs = torch.load(f"{folder}/inputs.pt")
        early = model.early_exit_forward(**inputs, threshold=0.5)
        classifier = pipeline("text-classification", model=folder, trust_remote_code=True)
        scores = classifier(["a charming and often affecting journey", "bleak"], top_k=None, batch_size=2)
        results[folder] = {"early": early.logits, "layers": early.exit_layers, "labels": len(scores[0])}
    torch.save(results, sys.argv[1])
    """
)


def test_every_family_loads_as_remote_code_in_a_fresh_process(tmp_path, minilm_dir):
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    expected, folders = {}, []
    for family in FAMILIES:
        model = tiny_model(family, cls=BerxitForSequenceClassification, num_labels=2)
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        folder = tmp_path / family
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        input_ids, attention_mask = padded_batch(model, [7, 2, 5])
        torch.save({"input_ids": input_ids, "attention_mask": attention_mask}, folder / "inputs.pt")
        expected[str(folder)] = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5)
        folders.append(str(folder))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, "out.pt", *folders], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = torch.load(tmp_path / "out.pt")
    for folder, early in expected.items():
        torch.testing.assert_close(out[folder]["early"], early.logits)
        assert out[folder]["layers"].tolist() == early.exit_layers.tolist()
        assert out[folder]["labels"] == 2


@pytest.mark.parametrize("strategy", ["alternating", "joint", "two_stage"])
def test_one_trainer_step_per_strategy(tmp_path, family, strategy):
    model = tiny_model(family, cls=BerxitForSequenceClassification).train()
    generator = torch.Generator().manual_seed(0)
    # 20 examples: the default recipe holds 2 out and fits the certainty head on them once the steps end.
    input_ids = torch.randint(3, 99, (20, 6), generator=generator)
    dataset = [
        {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": int(label)}
        for ids, label in zip(input_ids, torch.randint(0, 3, (20,), generator=generator), strict=True)
    ]
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    args = BerxitTrainingArguments(
        output_dir=str(tmp_path),
        exit_strategy=strategy,
        per_device_train_batch_size=4,
        max_steps=2,
        learning_rate=1e-2,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = BerxitTrainer(model=model, args=args, train_dataset=dataset, data_collator=collate)
    trainer.train()
    assert len(trainer.certainty_dataset) == 2
    changed = {name for name, parameter in model.named_parameters() if not torch.equal(parameter, before[name])}
    assert any(name.startswith("berxit.backbone.") for name in changed) or strategy == "two_stage"
    assert any(".certainty_head." in name for name in changed)


def collate(rows: list[dict]) -> dict:
    return {key: torch.stack([torch.as_tensor(row[key]) for row in rows]) for key in rows[0]}


@pytest.mark.parametrize("where", ["call", "config"])
def test_layer_outputs_are_the_plain_backbones(family, where):
    """`output_hidden_states`/`output_attentions`, asked in the call or set in the config, return what the family's
    own model returns for the same weights: the embeddings and every layer's states, every layer's attentions."""
    model = tiny_model(family, attn_implementation="eager")
    input_ids, attention_mask = padded_batch(model, [7, 3])
    flags = dict(output_hidden_states=True, output_attentions=True)
    backbone = model.backbone
    if where == "config":
        for config in (model.config, backbone.config):
            config.output_hidden_states = config.output_attentions = True
        out, plain = model(input_ids, attention_mask=attention_mask), backbone(input_ids, attention_mask=attention_mask)
    else:
        out = model(input_ids, attention_mask=attention_mask, **flags)
        plain = backbone(input_ids, attention_mask=attention_mask, **flags)
    assert len(out.hidden_states) == 5 and len(out.attentions) == 4
    real = attention_mask.bool()  # padding positions' states are not part of the contract
    states = out.hidden_states
    if family == "modernbert":  # its model returns the last layer after `final_norm`, as its last_hidden_state
        states = (*states[:-1], backbone.final_norm(states[-1]))
    for ours, theirs in zip(states, plain.hidden_states, strict=True):
        torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(out.attentions, plain.attentions, strict=True):
        torch.testing.assert_close(ours[0], theirs[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours[1, :, :3, :3], theirs[1, :, :3, :3], atol=1e-5, rtol=1e-5)


def test_activation_checkpointing_gives_the_same_gradients(family):
    def gradients(checkpointing: bool) -> dict[str, torch.Tensor]:
        model = tiny_model(family).train()
        if checkpointing:
            model.activation_checkpointing_enable()
        input_ids, attention_mask = padded_batch(model, [7, 3, 5])
        model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 2, 1])).loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    if family == "albert":  # transformers' ALBERT layers cannot checkpoint; berxit says so rather than ignore it
        with pytest.raises(ValueError, match="not compatible with gradient checkpointing"):
            gradients(True)
        return
    plain, checkpointed = gradients(False), gradients(True)
    assert plain.keys() == checkpointed.keys()
    for name, gradient in plain.items():
        torch.testing.assert_close(checkpointed[name], gradient, msg=name)


# bert: tests/scripts/test_cli.py; roberta, xlm-roberta and electra embed and run their layers as bert does.
@pytest.mark.parametrize("family", ["distilbert", "albert", "deberta-v2", "modernbert"])
def test_train_sweep_export_from_a_plain_checkpoint(tmp_path, family, minilm_dir, reviews_csv):
    from berxit.scripts import export, sweep, train

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    backbone = tiny_backbone(family)
    backbone["vocab_size"] = len(tokenizer)
    plain = AutoModel.from_config(AutoConfig.for_model(backbone.pop("model_type"), **backbone))
    plain.save_pretrained(tmp_path / "plain")
    tokenizer.save_pretrained(tmp_path / "plain")
    data = ["--dataset", str(reviews_csv), "--text_column", "review", "--label_column", "verdict", "--max_length", "16"]
    model_dir = tmp_path / "model"
    train.main(
        ["--model_name_or_path", str(tmp_path / "plain"), "--output_dir", str(model_dir), *data, "--max_steps", "2"]
        + ["--per_device_train_batch_size", "8", "--report_to", "none", "--disable_tqdm", "true"]
    )
    sweep.main(["--model_dir", str(model_dir), "--chooser", "largest_within_drop", "--max_drop", "5"])
    export.main(["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "export")])
    exported = BerxitForSequenceClassification.from_pretrained(tmp_path / "export").eval()
    assert exported.config.backbone_config.model_type == family and exported.config.has_operating_point
    early = exported(**tokenizer(["a good film", "a dull , awful film"], return_tensors="pt", padding=True))
    assert early.exit_layers is not None and early.logits.shape == (2, 2)
