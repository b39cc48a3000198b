"""berxit-sweep: the speed-accuracy curve of a fine-tuned model for every exit rule, and its operating point with a
stated promise.

    berxit-sweep --model_dir runs/rt [--max_drop 1.0 | --max_disagreement 0.02] [--confidence 0.9]
                 [--calibration_file texts.csv] [--rule certainty|entropy|patience]

One pass over the validation split and one over the test split record every layer's prediction and certainty;
every setting of every rule is replayed from those records. Each rule's operating point is the setting
(threshold, or patience) that saves the most layers among those Learn then Test certifies on the calibration
examples: with probability `--confidence`, on new examples from the same distribution, the share of examples the
final layer gets right and the exit gets wrong (harm, which bounds the drop) is at most `--max_drop` points, or
the share whose early answer differs from the final layer's is at most `--max_disagreement`. The calibration
examples are the validation split, or your own unlabelled texts (`--calibration_file`, with the run's text
columns; they certify disagreement only). Where nothing is certified, the model answers from the last layer.
`--chooser largest_within_drop` is the chooser before: the most layers saved whose validation metric is within
`--max_drop` points of the final layer's, with no guarantee.

`--rule`'s point and its promise go into the checkpoint's config (`exit_rule`, `exit_threshold` or `patience`,
`exit_promise`), so the loaded model serves there. Outputs in `<model_dir>/sweep`: summary.{md,csv},
curve_{validation,test}.csv, exits.csv (each exit alone: static depth, and how well the certainty head and the
max-softmax rank its answers), curve.png, operating_point.json and the records (record_<split>.npz: every layer's
logits and certainty, for choosing again without the model).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset

from ..artifacts.atomic_files import check_writable
from ..artifacts.run_record import SWEEP
from ..data import read_texts
from ..evaluation.risk_control import CHOOSERS, Promise
from ..exit_rules.rules import EXIT_RULES, exit_rule_class
from ..workflows.sweep_run import sweep_model
from .arguments import DataArguments, command, parse_arguments, run_data


@dataclass
class SweepArguments:
    model_dir: str = field(metadata={"help": "A model fine-tuned by berxit-train (it holds berxit_run.json)."})
    output_dir: str | None = field(default=None, metadata={"help": "Where results go (default: <model_dir>/sweep)."})
    max_drop: float | None = field(
        default=None,
        metadata={
            "help": "The harm accepted, in points: the share of examples the final layer gets right and the exit gets "
            "wrong (it bounds the drop of the metric; regression: the rise of the absolute error, in points of the "
            "label range). Default 1.0 unless --max_disagreement is given."
        },
    )
    max_disagreement: float | None = field(
        default=None,
        metadata={
            "help": "Instead of --max_drop: the share of examples (0..1) whose early answer may differ from the final "
            "layer's. Needs no labels."
        },
    )
    confidence: float = field(default=0.9, metadata={"help": "Probability with which the promise holds, in (0, 1)."})
    chooser: str = field(
        default="learn_then_test",
        metadata={"help": "How the operating point is chosen (see above).", "choices": list(CHOOSERS)},
    )
    calibration_file: str | None = field(
        default=None,
        metadata={
            "help": "Unlabelled in-domain texts (CSV/TSV/JSON(L)/.txt, the run's text columns) to calibrate on "
            "instead of the validation split; certifies --max_disagreement."
        },
    )
    rule: str = field(
        default="certainty",
        metadata={"help": "The rule whose operating point goes into the config.", "choices": list(EXIT_RULES)},
    )
    batch_size: int = field(default=64, metadata={"help": "Evaluation batch size."})

    def __post_init__(self):
        if self.max_drop is not None and self.max_disagreement is not None:
            raise ValueError("max_disagreement: give either --max_drop (harm) or --max_disagreement, not both.")
        if self.max_drop is not None and not 0 <= self.max_drop <= 100:
            raise ValueError(f"max_drop: expected a number of points in [0, 100], got {self.max_drop}.")
        if self.max_disagreement is not None and not 0 <= self.max_disagreement <= 1:
            raise ValueError(f"max_disagreement: expected a share in [0, 1], got {self.max_disagreement}.")
        if self.calibration_file is not None and self.max_disagreement is None:
            raise ValueError(
                "calibration_file: unlabelled texts can certify only disagreement with the final layer; give "
                "--max_disagreement (a share, e.g. 0.02)."
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected a number of examples >= 1, got {self.batch_size}.")
        exit_rule_class(self.rule)  # an unknown rule is refused by name
        # What the user accepts; the promise checks the confidence and that the chooser can keep it.
        if self.max_disagreement is not None:
            self.promise = Promise("consistency", self.max_disagreement, self.confidence, self.chooser)
        else:
            max_drop = 1.0 if self.max_drop is None else self.max_drop
            self.promise = Promise("harm", max_drop / 100, self.confidence, self.chooser)


@command("berxit-sweep")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(SweepArguments, argv, "berxit-sweep")
    model_dir = Path(args.model_dir)
    run_info, data_args, task = run_data(model_dir)
    output_dir = check_writable(args.output_dir or model_dir / SWEEP, "output_dir")
    calibration, calibration_name = None, "the validation split"
    if args.calibration_file is not None:
        calibration = calibration_texts(args.calibration_file, data_args)
        calibration_name = Path(args.calibration_file).name
    operating, summary, plot = sweep_model(
        model_dir,
        task,
        data_args.max_length,
        output_dir=output_dir,
        promise=args.promise,
        rule=args.rule,
        batch_size=args.batch_size,
        weights_sha256=run_info["weights_sha256"],
        calibration=calibration,
        calibration_name=calibration_name,
    )
    print((output_dir / "summary.md").read_text(encoding="utf-8"))
    print(f"Curve: {plot}")
    where = f"{args.rule} {operating['setting']}" if operating["setting"] is not None else "the last layer"
    if not operating["promise"]["certified"] and args.chooser == "learn_then_test":
        print(f"No {args.rule} setting is certified on {calibration_name}: the model answers from the last layer.")
    print(f"Operating point ({where}) written to {model_dir / 'config.json'}")


def calibration_texts(path: str, data_args: DataArguments) -> Dataset:
    """The texts of `--calibration_file`, in the run's text columns, as a dataset without labels."""
    _, rows = read_texts(path, data_args.text_column, data_args.text_pair_column, "calibration_file")
    columns = {"text": [str(row[data_args.text_column]) for row in rows]}
    if data_args.text_pair_column:
        columns["text_pair"] = [str(row[data_args.text_pair_column]) for row in rows]
    return Dataset.from_dict(columns)


if __name__ == "__main__":
    main(sys.argv[1:])
