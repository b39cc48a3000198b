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

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts.files import check_writable
from ..artifacts.run_record import SWEEP, check_data_unchanged, read_run
from ..data.tasks import split_fingerprints
from ..exit_rules.exit_rules import EXIT_RULES, exit_rule_class
from ..reporting.tables import markdown_table
from ..workflows.sweep import sweep_model
from .arguments import DataArguments, command, parse_arguments


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
        exit_rule_class(self.rule)  # an unknown rule is refused by name


@command("berxit-sweep")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(SweepArguments, argv, "berxit-sweep")
    model_dir = Path(args.model_dir)
    run_info = read_run(model_dir)
    data_args = DataArguments(**run_info["data"])
    task = data_args.load()
    check_data_unchanged(run_info, split_fingerprints(task.splits))
    output_dir = check_writable(args.output_dir or model_dir / SWEEP, "output_dir")
    operating, summary, plot = sweep_model(
        model_dir,
        task,
        data_args.max_length,
        output_dir,
        args.max_drop,
        args.rule,
        args.batch_size,
        run_info["weights_sha256"],
    )
    print(markdown_table(summary))
    print(f"Curve: {plot}")
    print(f"Operating point ({args.rule} {operating['setting']}) written to {model_dir / 'config.json'}")


if __name__ == "__main__":
    main(sys.argv[1:])
