"""The model card (README.md with Hub metadata) of an exported BERxiT model."""

from __future__ import annotations

import json

CARD = """---
{metadata}
---

# {title}

A BERxiT (Xin et al., EACL 2021) early-exit model made with berxit: `{base_model}` with an exit after each
of its {num_layers} layers and a certainty head shared by all of them, fine-tuned on `{dataset}` with
`{strategy}` training. Each input leaves at the first layer whose certainty reaches the threshold, so easy
inputs use fewer layers.

It serves at **{rule} threshold {threshold}**: on the test split, {metric} {test_metric:.3f} against
{final_metric:.3f} for the final layer, with an average exit layer of {avg_exit_layer:.2f} of {num_layers}
({saved_layers:.0%} of the layers saved). The threshold was chosen on validation as the one saving the most layers
within {max_drop:g} point(s) of the final layer's {metric}.

## Use

```python
from transformers import AutoModel, AutoTokenizer, pipeline

classifier = pipeline("text-classification", model="{repo}", trust_remote_code=True)  # serves at the threshold

model = AutoModel.from_pretrained("{repo}", trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained("{repo}")
batch = tokenizer(["a charming and often affecting journey"], return_tensors="pt", padding=True)
out = model.early_exit_forward(**batch, threshold=0.9)  # or rule="entropy" / "patience"
out.logits, out.exit_layers
```

## Results (test split)

Each rule's setting was chosen on validation; the metric is {metric}.

{results}
![speed-accuracy curve](curve.png)
"""


def model_card(run_info: dict, operating: dict, results_markdown: str, config, repo: str) -> str:
    metadata = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "base_model": run_info["base_model"],
        "datasets": [operating["dataset"]],
        "metrics": [operating["metric"]],
        "tags": ["berxit", "early-exit", config.backbone_config.model_type],
    }
    if metadata["base_model"] is None:  # started from a local folder: no Hub id to name
        del metadata["base_model"]
    # JSON is valid YAML, and quotes every value safely.
    yaml = "\n".join(f"{key}: {json.dumps(value)}" for key, value in metadata.items())
    return CARD.format(
        metadata=yaml,
        title=repo.split("/")[-1],
        base_model=run_info["base_model"] or "a BERT-family backbone",
        num_layers=config.num_hidden_layers,
        dataset=operating["dataset"],
        strategy=run_info["exit_strategy"],
        rule=operating["rule"],
        threshold=operating["threshold"],
        metric=operating["metric"],
        test_metric=operating["test"][operating["metric"]],
        final_metric=operating["final_layer_test"],
        avg_exit_layer=operating["test"]["avg_exit_layer"],
        saved_layers=operating["test"]["saved_layers"],
        max_drop=operating["max_drop"],
        repo=repo,
        results=results_markdown,
    )
