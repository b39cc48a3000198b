"""berxit-sweep: the speed-accuracy curve of a fine-tuned model for every exit rule, and its calibrated
operating point.

    berxit-sweep --model_dir runs/rt [--max_drop 1.0] [--rule certainty|entropy|patience]

One pass over the validation split and one over the test split record every layer's prediction and certainty;
every setting of every rule is replayed from those records. The operating point of `--rule` is the setting
(threshold, or patience) that saves the most layers while the metric stays within `--max_drop` points of the
final layer's, chosen on validation and reported on test. It is written into the checkpoint's config
(`exit_rule` and `exit_threshold` or `patience`), so the loaded model serves there. Outputs in
`<model_dir>/sweep`: summary.{md,csv}, curve_{validation,test}.csv, curve.png, operating_point.json and the
records.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from datasets import DatasetDict
from transformers import AutoTokenizer

from ..configuration_berxit.configuration_berxit import EXIT_RULES
from ..modeling_berxit import BerxitForSequenceClassification
from .arguments import DataArguments, command, parse_arguments
from .curves import choose_operating_point, curve, point, rules_for
from .data import tokenize
from .files import check_writable, write_text_atomic
from .plots import plot_curves
from .records import record_exits
from .reports import markdown_table
from .train import RUN_INFO, check_weights_belong


@dataclass
class SweepArguments:
    model_dir: str = field(metadata={"help": "A model fine-tuned by berxit-train (it holds berxit_run.json)."})
    output_dir: str | None = field(default=None, metadata={"help": "Where results go (default: <model_dir>/sweep)."})
    max_drop: float = field(
        default=1.0, metadata={"help": "Largest drop of the metric, in points, that the operating point may cost."}
    )
    rule: str = field(
        default="certainty",
        metadata={"help": "The rule whose operating point goes into the config.", "choices": list(EXIT_RULES)},
    )
    batch_size: int = field(default=64, metadata={"help": "Evaluation batch size."})

    def __post_init__(self):
        if not self.max_drop >= 0:
            raise ValueError(f"max_drop: expected a number of points >= 0, got {self.max_drop}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected a number of examples >= 1, got {self.batch_size}.")
        if self.rule not in EXIT_RULES:
            raise ValueError(f"rule: expected one of {EXIT_RULES}, got {self.rule!r}.")


@command("berxit-sweep")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(SweepArguments, argv, "berxit-sweep")
    model_dir = Path(args.model_dir)
    if not (model_dir / RUN_INFO).is_file():
        raise ValueError(f"model_dir: expected a folder written by berxit-train (with {RUN_INFO}), got {model_dir}.")
    run_info = json.loads((model_dir / RUN_INFO).read_text())
    check_weights_belong(model_dir, run_info, "model_dir", "berxit-train")
    output_dir = check_writable(args.output_dir or model_dir / "sweep", "output_dir")
    data_args = DataArguments(**run_info["data"])
    task = data_args.load()

    model = BerxitForSequenceClassification.from_pretrained(model_dir)
    if args.rule != "certainty" and model.config.is_regression:
        raise ValueError(f"rule: the {args.rule} rule needs classes and this model does regression; use 'certainty'.")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    evaluated = DatasetDict({split: task.splits[split] for split in ("validation", "test")})
    tokenized = tokenize(evaluated, tokenizer, data_args.max_length)
    records = {}
    for split in ("validation", "test"):
        records[split] = record_exits(
            model, tokenized[split], tokenizer, args.batch_size, description=f"Recording {split}"
        )
        records[split].save(output_dir / f"record_{split}.pt")

    config, metric = model.config, task.metric
    finals = {split: point(config, record, None) for split, record in records.items()}
    for split, final in finals.items():
        if not math.isfinite(final[metric]):
            raise ValueError(
                f"dataset: the final layer's {metric} on the {split} split is {final[metric]} (constant labels?); "
                "no operating point can be chosen from it, and none is written."
            )
    curves = {
        split: {rule: curve(config, record, rule) for rule in rules_for(config)} for split, record in records.items()
    }
    for split, rule_curves in curves.items():
        rows = [finals[split]] + [p for points in rule_curves.values() for p in points]
        pd.DataFrame(rows).to_csv(output_dir / f"curve_{split}.csv", index=False)

    summary, chosen_on_test = [summary_row(finals["validation"], finals["test"], metric)], {}
    for rule in rules_for(config):
        chosen = choose_operating_point(curves["validation"][rule], finals["validation"], metric, args.max_drop)
        on_test = point(config, records["test"], rule, chosen["setting"])
        chosen_on_test[rule] = on_test
        summary.append(summary_row(chosen, on_test, metric))
        if all(p["avg_exit_layer"] >= records["test"].num_layers for p in curves["validation"][rule]):
            print(f"Note: at no {rule} setting did any validation example exit before the last layer.")
    table = pd.DataFrame(summary)
    table.to_csv(output_dir / "summary.csv", index=False)
    write_text_atomic(output_dir / "summary.md", markdown_table(summary))
    plot = plot_curves(
        curves["test"],
        finals["test"],
        metric,
        output_dir / "curve.png",
        f"{task.name}, test split",
        operating_points=chosen_on_test,
        operating_label=f"chosen on validation (≤ {args.max_drop:g}-point drop)",
    )

    operating_row = next(row for row in summary if row["rule"] == args.rule)
    operating = {  # what the checkpoint now serves at, and what that gave on test
        "dataset": task.name,
        "metric": metric,
        "max_drop": args.max_drop,
        "rule": args.rule,
        "setting": operating_row["setting"],  # the threshold, or the patience
        "validation": operating_row[f"validation_{metric}"],
        "test": {key: operating_row[f"test_{key}"] for key in (metric, "avg_exit_layer", "saved_layers")},
        "final_layer_test": finals["test"][metric],
        "weights_sha256": run_info["weights_sha256"],  # the weights these results belong to
    }
    write_text_atomic(output_dir / "operating_point.json", json.dumps(operating, indent=2))
    config.exit_rule = args.rule
    if args.rule == "patience":
        config.exit_threshold, config.patience = None, operating["setting"]
    else:
        config.exit_threshold = operating["setting"]
    write_text_atomic(model_dir / "config.json", config.to_json_string())

    print(markdown_table(summary))
    print(f"Curve: {plot}")
    print(f"Operating point ({args.rule} {operating['setting']}) written to {model_dir / 'config.json'}")


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


if __name__ == "__main__":
    main(sys.argv[1:])
