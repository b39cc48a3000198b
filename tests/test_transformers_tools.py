"""berxit through transformers' own tools, as a user reaches it: the forward contract, pipelines and
`Trainer.predict` at every rule's operating point, PEFT, gradient checkpointing, resizing, logging."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from datasets import Dataset
from tiny_models import padded_batch, tiny_model
from transformers import AutoModel, AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments, pipeline
from transformers.testing_utils import CaptureLogger
from transformers.utils import logging

from berxit import BerxitForSequenceClassification, BerxitModel
from berxit.exit_rules.rules import entropy_confidence
from berxit.modeling_berxit import model as modeling_berxit

TEXTS = [
    "a charming and often affecting journey",
    "unflinchingly bleak and desperate",
    "the plot is nothing but boilerplate clichés from start to finish , and the script assumes that not only would "
    "subtitles drive away the average movie-goer",
    "it 's a lovely film with lovely performances by buy and accorsi",
    "no movement , no yuks , not much of anything",
    "one of the greatest family-oriented , fantasy-adventure movies ever",
    "ultimately , it ponders the reasons we need stories so much",
    "an utterly incompetent conclusion",
    "good",
    "the most repugnant adaptation of a classic text since roland joffé and demi moore 's the scarlet letter",
]
RULES = ["certainty", "entropy", "patience"]


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return AutoTokenizer.from_pretrained(minilm_dir)


def text_model(tokenizer, rule: str | None = None):
    """A tiny random model that reads the MiniLM tokenizer's ids, with labels named, serving at an operating point
    of `rule` (as berxit-sweep writes it into the config) where TEXTS leave at different layers."""
    model = tiny_model(cls=BerxitForSequenceClassification, num_labels=2)
    model.config.id2label, model.config.label2id = {0: "rotten", 1: "fresh"}, {"rotten": 0, "fresh": 1}
    model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model.eval()
    if rule == "patience":
        model.config.exit_rule, model.config.patience = "patience", 1
    elif rule is not None:
        with torch.no_grad():
            full = model(**tokenizer(TEXTS, return_tensors="pt", padding=True))
        scores = full.certainties if rule == "certainty" else entropy_confidence(full.exit_logits)
        middle = scores[:, 0].sort().values[len(TEXTS) // 2 - 1 : len(TEXTS) // 2 + 1]
        # Half-way between two scores, so that float noise from padding cannot move an example across.
        model.config.exit_rule, model.config.exit_threshold = rule, float(middle.mean())
    return model


@pytest.fixture(scope="module")
def saved_at_operating_points(tmp_path_factory, tokenizer):
    """One folder per rule: a model saved serving at that rule's operating point, with its tokenizer."""
    folders = {}
    for rule in RULES:
        folder = tmp_path_factory.mktemp(rule)
        text_model(tokenizer, rule).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[rule] = folder
    return folders


def expected_scores(model, tokenizer) -> list[dict[str, float]]:
    """Each text's class probabilities from `early_exit_forward`, the text alone."""
    scores = []
    for text in TEXTS:
        logits = model.early_exit_forward(**tokenizer(text, return_tensors="pt")).logits[0]
        probabilities = logits.softmax(-1).tolist()
        scores.append({model.config.id2label[i]: p for i, p in enumerate(probabilities)})
    return scores


def assert_scores_match(results, expected):
    assert len(results) == len(expected)
    for scores, wanted in zip(results, expected, strict=True):
        got = {score["label"]: score["score"] for score in scores}
        assert got == pytest.approx(wanted, abs=1e-5)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("batch_size", [1, 8])
def test_pipeline_serves_at_each_rules_operating_point(saved_at_operating_points, rule, batch_size):
    folder = saved_at_operating_points[rule]
    classifier = pipeline("text-classification", model=str(folder), batch_size=batch_size)
    assert classifier.model.config.exit_rule == rule and classifier.model.config.has_operating_point
    expected = expected_scores(classifier.model, classifier.tokenizer)
    assert_scores_match(classifier(TEXTS, top_k=None), expected)
    # The operating point is really used: the answers are not all those of the final layer.
    layers = classifier.model.early_exit_forward(**classifier.tokenizer(TEXTS, return_tensors="pt", padding=True))
    assert layers.exit_layers.min() < classifier.model.config.num_hidden_layers


REMOTE_PIPELINES = textwrap.dedent(
    """
    import json, sys
    sys.modules["berxit"] = None  # berxit is not importable here: the model's own files serve it
    from transformers import pipeline

    texts, results = json.loads(sys.argv[1]), {}
    for folder in sys.argv[2:]:
        for batch_size in (1, 8):
            classifier = pipeline("text-classification", model=folder, trust_remote_code=True, batch_size=batch_size)
            assert type(classifier.model).__module__.startswith("transformers_modules")
            results[f"{folder}-{batch_size}"] = classifier(texts, top_k=None)
    print(json.dumps(results))
    """
)


def test_remote_code_pipelines_serve_at_each_rules_operating_point(saved_at_operating_points, tokenizer, tmp_path):
    folders = [str(folder) for folder in saved_at_operating_points.values()]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", REMOTE_PIPELINES, json.dumps(TEXTS), *folders],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    remote = json.loads(result.stdout.strip().splitlines()[-1])
    for folder in folders:
        expected = expected_scores(BerxitForSequenceClassification.from_pretrained(folder).eval(), tokenizer)
        for batch_size in (1, 8):
            assert_scores_match(remote[f"{folder}-{batch_size}"], expected)


@pytest.mark.parametrize("rule", RULES)
def test_trainer_predict_without_labels_serves_at_the_operating_point(tokenizer, tmp_path, rule):
    model = text_model(tokenizer, rule)
    dataset = Dataset.from_dict({"text": TEXTS}).map(lambda batch: tokenizer(batch["text"]), remove_columns="text")
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=4, report_to="none", use_cpu=True)
    trainer = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer))
    logits, exit_layers, certainties = trainer.predict(dataset).predictions
    early = model.early_exit_forward(**tokenizer(TEXTS, return_tensors="pt", padding=True))
    torch.testing.assert_close(torch.as_tensor(logits), early.logits, atol=1e-5, rtol=1e-4)
    assert exit_layers.tolist() == early.exit_layers.tolist()
    torch.testing.assert_close(torch.as_tensor(certainties), early.certainties, atol=1e-5, rtol=1e-4)


def test_inputs_embeds_give_the_output_of_input_ids(model_type):
    model = tiny_model(model_type, cls=BerxitForSequenceClassification)
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    embeds = model.get_input_embeddings()(input_ids)
    by_ids = model(input_ids, attention_mask=attention_mask)
    by_embeds = model(inputs_embeds=embeds, attention_mask=attention_mask)
    if model_type == "bert":  # RoBERTa numbers positions from the ids' padding, BERT from 0 either way
        torch.testing.assert_close(by_embeds.exit_logits, by_ids.exit_logits)
    else:
        positions = torch.cumsum(attention_mask, 1) * attention_mask + model.config.backbone_config.pad_token_id
        by_ids_same_positions = model(input_ids, attention_mask=attention_mask, position_ids=positions)
        by_embeds = model(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=positions)
        torch.testing.assert_close(by_embeds.exit_logits, by_ids_same_positions.exit_logits)
        torch.testing.assert_close(by_ids_same_positions.exit_logits, by_ids.exit_logits)
    early_ids = model.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5)
    early_embeds = model.early_exit_forward(inputs_embeds=embeds, attention_mask=attention_mask, threshold=0.5)
    if model_type == "bert":
        torch.testing.assert_close(early_embeds.logits, early_ids.logits)
        assert early_embeds.exit_layers.tolist() == early_ids.exit_layers.tolist()
    with pytest.raises(ValueError, match="input_ids: give exactly one of input_ids and inputs_embeds"):
        model(input_ids, inputs_embeds=embeds)
    with pytest.raises(ValueError, match="inputs_embeds: expected vectors of the backbone's embedding size 32"):
        model(inputs_embeds=embeds[..., :8])


def test_return_dict_false_gives_the_fields_as_a_tuple():
    model = tiny_model(cls=BerxitForSequenceClassification)
    input_ids, attention_mask = padded_batch(model, [7, 3])
    as_dict = model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 2]))
    as_tuple = model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 2]), return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == len(as_dict.to_tuple())
    for got, expected in zip(as_tuple, as_dict.to_tuple(), strict=True):
        torch.testing.assert_close(got, expected)
    base = tiny_model(cls=BerxitModel)
    assert isinstance(base(input_ids, attention_mask=attention_mask, return_dict=False), tuple)


def test_hidden_states_and_attentions_of_every_layer(model_type):
    model = tiny_model(model_type, attn_implementation="eager")
    input_ids, attention_mask = padded_batch(model, [7, 3])
    out = model(input_ids, attention_mask=attention_mask, output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == 5 and all(state.shape == (2, 7, 32) for state in out.hidden_states)
    torch.testing.assert_close(out.hidden_states[0], model.backbone.embeddings(input_ids))
    assert len(out.attentions) == 4 and all(weights.shape == (2, 4, 7, 7) for weights in out.attentions)
    plain = model(input_ids, attention_mask=attention_mask)
    assert plain.hidden_states is None and plain.attentions is None
    torch.testing.assert_close(out.exit_logits, plain.exit_logits)
    # At an operating point, asking for every layer's states runs every layer and still reports the early answers.
    model.config.exit_threshold = 0.5
    served = model(input_ids, attention_mask=attention_mask, output_hidden_states=True)
    early = model.early_exit_forward(input_ids, attention_mask=attention_mask)
    assert len(served.hidden_states) == 5 and served.exit_layers.tolist() == early.exit_layers.tolist()
    torch.testing.assert_close(served.logits, early.logits, atol=1e-5, rtol=1e-4)


def test_early_exit_output_holds_only_per_example_tensors():
    model = tiny_model(exit_threshold=0.5)
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    out = model(input_ids, attention_mask=attention_mask)
    assert set(out.keys()) == {"logits", "exit_layers", "certainties"}
    assert all(isinstance(value, torch.Tensor) and value.shape[0] == 3 for value in out.values())
    assert out.num_layers_computed == int(out.exit_layers.sum())


@pytest.mark.parametrize("objective", ["all_exits", "final_exit", "early_exits"])
def test_gradient_checkpointing_gives_the_same_gradients(objective):
    def gradients(checkpointing: bool) -> dict[str, torch.Tensor]:
        model = tiny_model().train()
        if checkpointing:
            model.activation_checkpointing_enable()
            assert model.is_activation_checkpointing
        input_ids, attention_mask = padded_batch(model, [7, 3, 5])
        loss = model(input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 2, 1]), objective=objective)
        loss.loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    plain, checkpointed = gradients(False), gradients(True)
    assert plain.keys() == checkpointed.keys()
    for name, gradient in plain.items():
        torch.testing.assert_close(checkpointed[name], gradient, msg=name)


def test_capability_flags_follow_the_backbone(model_type):
    model = tiny_model(model_type)
    layer = type(model.backbone.encoder.layer[0]).__name__
    assert layer in model._no_split_modules
    assert model.supports_gradient_checkpointing and model._supports_sdpa
    assert model.config._attn_implementation == "sdpa"


@pytest.mark.parametrize("implementation", ["eager", "flex_attention"])
def test_every_attention_implementation_gives_the_same_answers(implementation):
    reference, model = tiny_model(), tiny_model(attn_implementation=implementation)
    assert model.config._attn_implementation == implementation
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    with torch.no_grad():  # flex attention has no backward on CPU
        got, expected = (m(input_ids, attention_mask=attention_mask).exit_logits for m in (model, reference))
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
        early, expected = (
            m.early_exit_forward(input_ids, attention_mask=attention_mask, threshold=0.5) for m in (model, reference)
        )
    torch.testing.assert_close(early.logits, expected.logits, atol=1e-5, rtol=1e-4)
    assert early.exit_layers.tolist() == expected.exit_layers.tolist()


def test_resized_embeddings_save_and_load(tmp_path, model_type):
    model = tiny_model(model_type, cls=BerxitForSequenceClassification)
    model.resize_token_embeddings(120)
    assert model.config.backbone_config.vocab_size == model.config.get_text_config().vocab_size == 120
    model.save_pretrained(tmp_path)
    loaded, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert loaded.get_input_embeddings().weight.shape == (120, 32)
    input_ids = torch.tensor([[5, 119, 7]])
    torch.testing.assert_close(loaded(input_ids).exit_logits, model(input_ids).exit_logits)


def test_peft_lora_trains_adapters_and_heads_then_exits_early(tokenizer):
    from peft import LoraConfig, get_peft_model

    model = text_model(tokenizer)
    config = LoraConfig(task_type="SEQ_CLS", r=4, lora_alpha=8, target_modules=["query", "value"])
    peft_model = get_peft_model(model, config)
    trainable = {name for name, parameter in peft_model.named_parameters() if parameter.requires_grad}
    assert any("lora_A" in name for name in trainable)
    assert all(any(f"exits.{i}.classifier" in name for name in trainable) for i in range(4))
    assert any("certainty_head.classifier" in name for name in trainable)
    assert not any("word_embeddings" in name or "query.base_layer" in name for name in trainable)

    before = {name: p.detach().clone() for name, p in peft_model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    batch = tokenizer(TEXTS[:4], return_tensors="pt", padding=True)
    peft_model.train()
    for _ in range(2):
        loss = peft_model(**batch, labels=torch.tensor([1, 0, 0, 1])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    changed = {name for name, p in peft_model.named_parameters() if not torch.equal(p, before[name])}
    assert any("lora_B" in name for name in changed) and any("certainty_head" in name for name in changed)
    assert not any("base_layer" in name or "word_embeddings" in name for name in changed)

    peft_model.eval()
    early = peft_model.early_exit_forward(**batch, threshold=0.5)
    assert early.logits.shape == (4, 2) and early.exit_layers.shape == (4,)
    full = peft_model(**batch)
    torch.testing.assert_close(early.logits[early.exit_layers == 4], full.logits[early.exit_layers == 4])


def test_berxit_logs_under_transformers_verbosity():
    assert modeling_berxit.logger.name.startswith("transformers.")
    try:
        logging.set_verbosity_error()
        with CaptureLogger(modeling_berxit.logger) as quiet:
            modeling_berxit.logger.warning("a berxit warning")
        logging.set_verbosity_warning()
        with CaptureLogger(modeling_berxit.logger) as loud:
            modeling_berxit.logger.warning("a berxit warning")
    finally:
        logging.set_verbosity_warning()
    assert quiet.out == "" and "a berxit warning" in loud.out


def test_importing_berxit_loads_nothing_that_serving_does_not_need():
    script = (
        "import sys, berxit\n"
        "config = berxit.BerxitConfig(backbone_config={'model_type': 'bert', 'num_hidden_layers': 2})\n"
        "model = berxit.BerxitModel(config)\n"
        "print(sorted(name for name in ('sklearn', 'datasets', 'pandas', 'matplotlib', 'peft') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
