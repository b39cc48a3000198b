"""The sweep of a fine-tuned model: one recorded pass over validation and one over test, every setting of every
rule replayed from them, each rule's operating point chosen on validation and measured on test, and the chosen
rule's point written into the checkpoint's config so that the loaded model serves there."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from datasets import DatasetDict

from ..artifacts.files import write_text_atomic
from ..data import TaskData, tokenize
from ..data.tokenizer import load_tokenizer
from ..evaluation.operating_point import find_operating_point
from ..evaluation.records import record_exits
from ..exit_rules.exit_rules import check_rule_applies, rules_for
from ..modeling_berxit import BerxitForSequenceClassification
from ..reporting.plots import plot_curves
from ..reporting.tables import markdown_table

SPLITS = ("validation", "test")


def sweep_model(
    model_dir: Path,
    task: TaskData,
    max_length: int,
    output_dir: Path,
    max_drop: float,
    rule: str,
    batch_size: int,
    weights_sha256: str,
) -> tuple[dict, list[dict], Path]:
    """Sweeps the model in `model_dir` on `task`; writes summary.{md,csv}, curve_{split}.csv, curve.png,
    operating_point.json and the records into `output_dir`, and `rule`'s operating point into the config.

    Returns the operating point, the summary rows and the plot's path.
    """
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    rule_class = check_rule_applies(model.config, rule)
    tokenizer = load_tokenizer(model_dir, "model_dir")
    tokenized = tokenize(DatasetDict({split: task.splits[split] for split in SPLITS}), tokenizer, max_length)
    records = {}
    for split in SPLITS:
        records[split] = record_exits(model, tokenized[split], tokenizer, batch_size, description=f"Recording {split}")
        records[split].save(output_dir / f"record_{split}.pt")

    config, metric = model.config, task.metric
    points = {rule_: find_operating_point(config, records, rule_, metric, max_drop) for rule_ in rules_for(config)}
    finals = next(iter(points.values()))["final"]
    for split in SPLITS:
        rows = [finals[split]] + [p for point in points.values() for p in point["curves"][split]]
        pd.DataFrame(rows).to_csv(output_dir / f"curve_{split}.csv", index=False)

    summary = [summary_row(finals["validation"], finals["test"], metric)]
    for rule_, point in points.items():
        summary.append(summary_row(point["chosen"], point["on_test"], metric))
        if all(p["avg_exit_layer"] >= records["test"].num_layers for p in point["curves"]["validation"]):
            print(f"Note: at no {rule_} setting did any validation example exit before the last layer.")
    pd.DataFrame(summary).to_csv(output_dir / "summary.csv", index=False)
    write_text_atomic(output_dir / "summary.md", markdown_table(summary))
    plot = plot_curves(
        {rule_: point["curves"]["test"] for rule_, point in points.items()},
        finals["test"],
        metric,
        output_dir / "curve.png",
        f"{task.name}, test split",
        operating_points={rule_: point["on_test"] for rule_, point in points.items()},
        operating_label=f"chosen on validation (≤ {max_drop:g}-point drop)",
    )

    operating_row = next(row for row in summary if row["rule"] == rule)
    operating = {  # what the checkpoint now serves at, and what that gave on test
        "dataset": task.name,
        "metric": metric,
        "max_drop": max_drop,
        "rule": rule,
        "setting": operating_row["setting"],  # the threshold, or the patience
        "validation": operating_row[f"validation_{metric}"],
        "test": {key: operating_row[f"test_{key}"] for key in (metric, "avg_exit_layer", "saved_layers")},
        "final_layer_test": finals["test"][metric],
        "weights_sha256": weights_sha256,  # the weights these results belong to
    }
    write_text_atomic(output_dir / "operating_point.json", json.dumps(operating, indent=2))
    rule_class.save_setting(config, operating["setting"])
    write_text_atomic(model_dir / "config.json", config.to_json_string())
    return operating, summary, plot


def summary_row(on_validation: dict, on_test: dict, metric: str) -> dict:
    """One line of the summary: a setting chosen on validation, and what it does on test."""
    return {
        "rule": on_validation["rule"],
        "setting": on_validation["setting"],
        f"validation_{metric}": on_validation[metric],
        f"test_{metric}": on_test[metric],
        "test_avg_exit_layer": on_test["avg_exit_layer"],
        "test_saved_layers": on_test["saved_layers"],
        "test_ideal_speedup": on_test["ideal_speedup"],
    }
