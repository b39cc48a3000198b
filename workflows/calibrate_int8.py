"""The int8 export's own operating point: its graphs record validation and test, the sweep's rule and promise choose
its setting on validation, and a table sets int8 beside fp32 on test (every exit's metric, the certainty head's
AUROC, the operating point's metric and saving). Quantisation moves the certainties a little, so fp32's setting is
not reused; `OnnxBerxitModel(folder, quantized=True)` serves the one chosen here."""

from __future__ import annotations

import json
from pathlib import Path

from datasets import DatasetDict

from ..data import TaskData, tokenize
from ..evaluation.exit_quality import exit_quality
from ..evaluation.operating_point import find_operating_point
from ..evaluation.records import ExitRecord, record_served_exits
from ..evaluation.risk_control import Promise
from ..onnx_runtime.runner import OPERATING_POINT, OnnxBerxitModel, ServedConfig
from ..reporting.tables import markdown_table
from .sweep_run import SPLITS, promise_record

SUMMARY = "summary.md"  # the int8 graphs' table against fp32, beside them


def calibrate_int8(
    graphs: Path,
    config,
    task: TaskData,
    *,
    tokenizer,
    max_length: int,
    operating: dict,
    fp32_test: ExitRecord | None,
    batch_size: int = 64,
) -> dict:
    """Chooses the int8 graphs in `graphs` their own operating point with the promise of `operating` (the sweep's
    `operating_point.json`) on the validation split; writes it, and the table against fp32's test record
    (`fp32_test`, if the sweep kept one), into `graphs`. Returns the operating point."""
    served = OnnxBerxitModel(graphs.parent, onnx_folder=graphs, config=ServedConfig.from_dict(config.to_dict()))
    tokenized = tokenize(DatasetDict({split: task.splits[split] for split in SPLITS}), tokenizer, max_length)
    records = {
        split: record_served_exits(served, tokenized[split], tokenizer, batch_size, f"Recording {split} (int8)")
        for split in SPLITS
    }
    stated = operating["promise"]
    promise = Promise(stated["risk"], stated["epsilon"], stated["confidence"], stated["chooser"])
    metric = task.metric
    point = find_operating_point(config, records, operating["rule"], metric, promise)
    chosen, on_test = point["chosen"], point["on_test"]
    int8 = {
        "dataset": task.name,
        "metric": metric,
        "rule": operating["rule"],
        "setting": chosen["setting"],
        "promise": promise_record(
            promise, config.is_regression, "the validation split", len(records["validation"]), chosen
        ),
        "test": {key: on_test[key] for key in (metric, f"{metric}_interval", "avg_exit_layer", "saved_layers")},
        "final_layer_test": point["final"]["test"][metric],
        "quantization": "int8",
    }
    (graphs / OPERATING_POINT).write_text(json.dumps(int8, indent=2))
    (graphs / SUMMARY).write_text(comparison(config, records["test"], fp32_test, operating, int8, metric))
    return int8


def comparison(config, int8_test: ExitRecord, fp32_test: ExitRecord | None, fp32: dict, int8: dict, metric: str) -> str:
    """The markdown table: each exit's test metric and certainty AUROC, int8 beside fp32, then each precision's
    operating point."""
    quality = {"int8": exit_quality(config, int8_test)}
    if fp32_test is not None:
        quality["fp32"] = exit_quality(config, fp32_test)
    score = "certainty_spearman" if config.is_regression else "certainty_auroc"
    rows = []
    for layer in range(int8_test.num_layers):
        row = {"exit": layer + 1}
        for precision, table in sorted(quality.items()):
            row[f"{precision}_{metric}"] = table[layer][metric]
            row[f"{precision}_{score}"] = table[layer][score]
        rows.append(row)
    points = [
        {
            "precision": precision,
            "rule": point["rule"],
            "setting": point["setting"],
            f"test_{metric}": point["test"][metric],
            "test_saved_layers": point["test"]["saved_layers"],
            "final_layer_test": point["final_layer_test"],
        }
        for precision, point in (("fp32", fp32), ("int8", int8))
    ]
    return (
        f"# int8 against fp32 on the test split ({len(int8_test)} examples)\n\n{markdown_table(rows)}\n\n"
        f"Operating points, each chosen on validation by its own records ({int8['promise']['chooser']}):\n\n"
        f"{markdown_table(points)}\n"
    )
