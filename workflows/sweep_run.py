"""The sweep of a fine-tuned model: one recorded pass over validation and one over test (and one over a user's
calibration texts), every setting of every rule replayed from them, each rule's operating point chosen on the
calibration examples as the promise says and measured on test, and the chosen rule's point and promise written
into the checkpoint's config so that the loaded model serves there."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from datasets import Dataset, DatasetDict
from transformers.utils import logging

from ..artifacts.atomic_files import write_text_atomic
from ..data import TaskData, tokenize
from ..data.tokenizer import load_tokenizer
from ..evaluation.curves import static_depth_curve
from ..evaluation.exit_quality import exit_quality
from ..evaluation.operating_point import find_operating_point
from ..evaluation.records import record_exits
from ..evaluation.risk_control import Promise
from ..exit_rules.rules import check_rule_applies, rules_for
from ..modeling_berxit import BerxitForSequenceClassification
from ..reporting.plots import plot_curves
from ..reporting.tables import markdown_table

logger = logging.get_logger(f"transformers.{__name__}")

SPLITS = ("validation", "test")


def sweep_model(
    model_dir: Path,
    task: TaskData,
    max_length: int,
    *,
    output_dir: Path,
    promise: Promise,
    rule: str,
    batch_size: int,
    weights_sha256: str,
    calibration: Dataset | None = None,
    calibration_name: str = "the validation split",
) -> tuple[dict, list[dict], Path]:
    """Sweeps the model in `model_dir` on `task`; writes summary.{md,csv}, curve_{split}.csv, curve.png,
    operating_point.json and the records into `output_dir`, and `rule`'s operating point and its promise into the
    config.

    Each rule's operating point is chosen on the calibration examples (`calibration`, texts without labels, else
    the validation split) as `promise` says, and measured on test. Returns the operating point, the summary rows and
    the plot's path.
    """
    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    rule_class = check_rule_applies(model.config, rule)
    tokenizer = load_tokenizer(model_dir, "model_dir")
    splits = {split: task.splits[split] for split in SPLITS}
    if calibration is not None:
        splits["calibration"] = calibration
    tokenized = tokenize(DatasetDict(splits), tokenizer, max_length)
    records = {}
    for split in splits:
        records[split] = record_exits(model, tokenized[split], tokenizer, batch_size, description=f"Recording {split}")
        records[split].save(output_dir / f"record_{split}.npz")
    chosen_on = records.pop("calibration", records["validation"])  # the user's texts, else validation

    config, metric = model.config, task.metric
    points = {
        rule_: find_operating_point(config, records, rule_, metric, promise, chosen_on) for rule_ in rules_for(config)
    }
    finals = next(iter(points.values()))["final"]
    for split in SPLITS:
        rows = [finals[split]] + [p for point in points.values() for p in point["curves"][split]]
        pd.DataFrame(rows).to_csv(output_dir / f"curve_{split}.csv", index=False)

    summary = [summary_row(finals["validation"], finals["test"], metric)]
    for rule_, point in points.items():
        summary.append(summary_row(point["chosen"], point["on_test"], metric))
        if all(p["avg_exit_layer"] >= records["test"].num_layers for p in point["curves"]["test"]):
            logger.warning(f"At no {rule_} setting did any test example exit before the last layer.")
    statement = promise_summary(promise, config.is_regression, len(chosen_on), calibration_name)
    pd.DataFrame(summary).to_csv(output_dir / "summary.csv", index=False)
    exits = static_depth_rows(config, records, metric)
    pd.DataFrame(exits).to_csv(output_dir / "exits.csv", index=False)
    write_text_atomic(
        output_dir / "summary.md",
        f"{statement}\n\n{markdown_table(summary)}\n{STATIC_DEPTH}\n\n{markdown_table(exits)}",
    )
    plot = plot_curves(
        {rule_: point["curves"]["test"] for rule_, point in points.items()},
        finals["test"],
        metric,
        path=output_dir / "curve.png",
        title=f"{task.name}, test split",
        operating_points={rule_: point["on_test"] for rule_, point in points.items()},
        operating_label=f"chosen on {calibration_name}",
        static_depth=static_depth_curve([{metric: row[f"test_{metric}"]} for row in exits]),
    )

    point = points[rule]
    chosen, on_test = point["chosen"], point["on_test"]
    exit_promise = promise_record(promise, config.is_regression, calibration_name, len(chosen_on), chosen)
    operating = {  # what the checkpoint now serves at, and what that gave on test
        "dataset": task.name,
        "metric": metric,
        "rule": rule,
        "setting": chosen["setting"],  # the threshold, or the patience; None: the final layer answers
        "promise": exit_promise,
        "validation": chosen.get(metric),  # None where the calibration texts have no labels
        "test": {
            key: on_test[key]
            for key in (metric, f"{metric}_interval", "drop_interval", "risk", "avg_exit_layer", "saved_layers")
        },
        "final_layer_test": finals["test"][metric],
        "weights_sha256": weights_sha256,  # the weights these results belong to
    }
    write_text_atomic(output_dir / "operating_point.json", json.dumps(operating, indent=2))
    rule_class.save_setting(config, chosen["setting"])
    config.exit_promise = exit_promise
    write_text_atomic(model_dir / "config.json", config.to_json_string())
    return operating, summary, plot


def promise_record(promise: Promise, is_regression: bool, calibration_name: str, examples: int, chosen: dict) -> dict:
    """What an operating point promises, as `operating_point.json`, the config and the card state it: the promise,
    what it was calibrated on, and whether (and how tightly) `chosen` was certified."""
    return {
        "chooser": promise.chooser,
        "risk": promise.risk,
        "epsilon": promise.epsilon,
        "confidence": promise.confidence,
        "calibration": calibration_name,
        "calibration_examples": examples,
        "certified": chosen["certified"],
        "certified_bound": chosen["bound"],
        "statement": promise.statement(is_regression),
    }


STATIC_DEPTH = (
    "Each exit alone (static depth: every example answered at exit k, which saves 1 - k/L of the layers), and how "
    "well the certainty head and the exit's max-softmax rank its right answers above its wrong ones on test (AUROC):"
)


def static_depth_rows(config, records: dict, metric: str) -> list[dict]:
    """One row per exit: what answering everyone there scores on validation and test, and its scores' ranking."""
    quality = {split: exit_quality(config, records[split]) for split in SPLITS}
    rows = []
    for on_validation, on_test in zip(quality["validation"], quality["test"], strict=True):
        row = {
            "exit": on_test["exit"],
            "saved_layers": 1 - on_test["exit"] / records["test"].num_layers,
            f"validation_{metric}": on_validation[metric],
            f"test_{metric}": on_test[metric],
            "test_certainty_brier": on_test["certainty_brier"],
        }
        for score in ("certainty_spearman",) if config.is_regression else ("certainty_auroc", "softmax_auroc"):
            row[f"test_{score}"] = on_test[score]
        rows.append(row)
    return rows


def promise_summary(promise: Promise, is_regression: bool, examples: int, calibration_name: str) -> str:
    """The sentence above the sweep's table: what each rule's point promises, on what it was chosen."""
    return (
        f"Each rule's setting was chosen on {calibration_name} ({examples} examples) by {promise.chooser}: "
        f"{promise.statement(is_regression)}. Test intervals: bootstrap, {promise.confidence:g}."
    )


def summary_row(on_calibration: dict, on_test: dict, metric: str) -> dict:
    """One line of the summary: a setting chosen on the calibration examples, and what it does on test."""
    interval = on_test.get(f"{metric}_interval", [None, None])
    return {
        "rule": on_calibration["rule"],
        "setting": on_calibration["setting"],
        f"validation_{metric}": on_calibration.get(metric),
        "certified_bound": on_calibration.get("bound"),
        f"test_{metric}": on_test[metric],
        f"test_{metric}_low": interval[0],
        f"test_{metric}_high": interval[1],
        "test_avg_exit_layer": on_test["avg_exit_layer"],
        "test_saved_layers": on_test["saved_layers"],
        "test_ideal_speedup": on_test["ideal_speedup"],
    }
