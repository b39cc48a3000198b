"""The model card (README.md with Hub metadata and a model-index) of an exported BERxiT model, built with
`huggingface_hub`'s `ModelCard`, so the Hub shows its results and every field is one the Hub knows."""

from __future__ import annotations

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..configuration_berxit.config import PAPER_CERTAINTY_INPUTS
from ..data import hub_dataset
from ..exit_rules.rules import exit_rule_class
from ..trainer.training_args import recipe_changes

BODY = """
# {title}

A BERxiT (Xin et al., EACL 2021) early-exit model made with berxit: {base_model} with an exit after each
of its {num_layers} layers and a certainty head shared by all of them, fine-tuned on {dataset} with
`{strategy}` training{recipe}; each exit reads the {pooling} of its layer{head}. Each input leaves at the first layer
where the exit rule fires, so easy inputs use fewer layers.

It serves at **{serving}**: on the test split, {metric} {test_metric:.3f} (bootstrap {confidence:g} interval
{test_low:.3f}–{test_high:.3f}) against {final_metric:.3f} for the final layer, with an average exit layer of
{avg_exit_layer:.2f} of {num_layers} ({saved_layers:.0%} of the layers saved).

**What it promises.** The setting was chosen on {calibration} ({calibration_examples} examples) as the one saving
the most layers among those {chooser_says}: {statement}. {bound}It does not cover inputs from another
distribution than the calibration examples (another domain, another split of the data).

## Use

```python
from transformers import AutoModel, AutoTokenizer, pipeline

classifier = pipeline("text-classification", model="{repo}", trust_remote_code=True)  # serves at the operating point
print(classifier(["a charming and often affecting journey"]))

model = AutoModel.from_pretrained("{repo}", trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained("{repo}", trust_remote_code=False)  # the tokenizer runs no remote code
batch = tokenizer(["a charming and often affecting journey"], return_tensors="pt", padding=True)
out = model.early_exit_forward(**batch)  # at the operating point; or e.g. rule="entropy", threshold=0.9
print(out.logits, out.exit_layers)
```

## Results (test split)

Each rule's setting was chosen on validation; the metric is {metric}.

{results}
![speed-accuracy curve](curve.png)
"""


def model_card(
    run_info: dict, operating: dict, results_markdown: str, *, config, repo: str, license: str, language: str
) -> ModelCard:
    """The card of a model trained as `run_info` says, serving at `operating` (from berxit-sweep)."""
    metric, rule, promise = operating["metric"], operating["rule"], operating["promise"]
    setting_name = exit_rule_class(rule).setting_name
    serving = "the last layer" if operating["setting"] is None else f"{rule} {setting_name} {operating['setting']}"
    bound_result = []
    if promise["certified"]:
        label = f"certified upper bound on the {promise['risk']} risk (confidence {promise['confidence']:g})"
        bound_result.append((f"{promise['risk']}_bound", label, promise["certified_bound"]))
    dataset = hub_dataset(run_info["data"]["dataset"])  # (Hub id, config name), or None for local data
    dataset_name = operating["dataset"]
    eval_results = [
        EvalResult(
            task_type="text-classification",
            dataset_type=dataset[0] if dataset else dataset_name.split()[0],
            dataset_name=dataset_name,
            dataset_config=dataset[1] if dataset else None,
            dataset_split="test",
            metric_type=name,
            metric_name=label,
            metric_value=round(float(value), 4),
        )
        for name, label, value in (
            (metric, f"{metric} at the operating point ({serving})", operating["test"][metric]),
            (metric, f"{metric} of the final layer", operating["final_layer_test"]),
            ("saved_layers", "share of layers saved at the operating point", operating["test"]["saved_layers"]),
            *bound_result,
        )
    ]
    card_data = ModelCardData(
        model_name=repo.split("/")[-1],
        base_model=run_info["base_model"],
        datasets=[dataset[0]] if dataset else None,
        language=language,
        license=license,
        library_name="transformers",
        pipeline_tag="text-classification",
        metrics=[metric],
        tags=["berxit", "early-exit", config.backbone_config.model_type],
        eval_results=eval_results,
    )
    reads_answer = config.certainty_inputs != PAPER_CERTAINTY_INPUTS
    body = BODY.format(
        title=repo.split("/")[-1],
        base_model=f"`{run_info['base_model']}`" if run_info["base_model"] else "a BERT-family backbone",
        num_layers=config.num_hidden_layers,
        dataset=f"`{dataset[0]}`" if dataset else dataset_name,
        strategy=run_info["exit_strategy"],
        pooling={"cls": "[CLS] state", "mean": "mean over the real tokens"}[config.exit_pooling],
        recipe=recipe_clause(config, run_info),
        head=" and the certainty head its pooled vector and answer" if reads_answer else "",
        serving=serving,
        metric=metric,
        test_metric=operating["test"][metric],
        test_low=operating["test"][f"{metric}_interval"][0],
        test_high=operating["test"][f"{metric}_interval"][1],
        confidence=promise["confidence"],
        final_metric=operating["final_layer_test"],
        avg_exit_layer=operating["test"]["avg_exit_layer"],
        saved_layers=operating["test"]["saved_layers"],
        calibration=promise["calibration"],
        calibration_examples=promise["calibration_examples"],
        chooser_says="certified by Learn then Test" if promise["chooser"] == "learn_then_test" else "it allows",
        statement=promise["statement"],
        bound=bound_sentence(promise),
        repo=repo,
        results=results_markdown,
    )
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


def recipe_clause(config, run_info: dict) -> str:
    """The training settings that differ from the paper's recipe, as a clause of the card's first sentence."""
    changes = recipe_changes(config, run_info.get("objective", {}))
    changes.pop("certainty_inputs", None)  # the card says what the head reads in its own words
    return f" ({', '.join(f'{key}={value}' for key, value in changes.items())})" if changes else ""


def bound_sentence(promise: dict) -> str:
    """What was certified at the chosen setting, or that nothing was."""
    if promise["chooser"] != "learn_then_test":
        return ""
    if not promise["certified"]:
        return "No setting was certified, so every input runs every layer. "
    return (
        f"At the chosen setting the certified bound on the {promise['risk']} risk is "
        f"{100 * promise['certified_bound']:.2f}% (limit {100 * promise['epsilon']:g}%). "
    )
