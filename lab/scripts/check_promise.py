"""berxit-check-promise: how often a sweep's operating point keeps its promise on examples it was not chosen on.

    berxit-check-promise --model_dir runs/rt [--draws 200] [--max_drop 1.0] [--confidence 0.9]

Pools the records berxit-sweep saved (validation and test: every layer's logits and certainty), draws `--draws`
random halves, chooses each rule's operating point on one half (Learn then Test, and the chooser before it,
`largest_within_drop`, for comparison) and measures the drop of the metric on the other half. Prints, per rule and
chooser, the share of draws whose drop stayed within `--max_drop` points, the mean drop, the mean share of layers
saved and how often nothing was certified; writes the table to `<sweep_dir>/promise_check.{md,json}`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ...artifacts.atomic_files import read_json, write_text_atomic
from ...artifacts.run_record import SWEEP
from ...configuration_berxit import BerxitConfig
from ...evaluation.records import ExitRecord
from ...evaluation.risk_control import Promise
from ...reporting.tables import markdown_table
from ...scripts.arguments import command, parse_arguments
from ..analysis.promise_check import check_promise, pooled

RECORDS = ("record_validation.npz", "record_test.npz")


@dataclass
class CheckPromiseArguments:
    model_dir: str = field(metadata={"help": "A model swept by berxit-sweep (its config.json and sweep folder)."})
    sweep_dir: str | None = field(
        default=None, metadata={"help": "berxit-sweep's output (default: <model_dir>/sweep)."}
    )
    draws: int = field(default=200, metadata={"help": "How many random halves to draw."})
    max_drop: float = field(default=1.0, metadata={"help": "The promised drop, in points (the harm certified)."})
    confidence: float = field(default=0.9, metadata={"help": "The confidence of the promise, in (0, 1)."})
    seed: int = field(default=0, metadata={"help": "Seed of the draws."})

    def __post_init__(self):
        if self.draws < 1:
            raise ValueError(f"draws: expected a number of draws >= 1, got {self.draws}.")
        if not 0 <= self.max_drop <= 100:
            raise ValueError(f"max_drop: expected a number of points in [0, 100], got {self.max_drop}.")
        self.promise = Promise("harm", self.max_drop / 100, self.confidence)  # checks the confidence


@command("berxit-check-promise")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(CheckPromiseArguments, argv, "berxit-check-promise")
    model_dir = Path(args.model_dir)
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else model_dir / SWEEP
    missing = [name for name in RECORDS if not (sweep_dir / name).is_file()]
    if missing:
        raise ValueError(f"sweep_dir: {sweep_dir} holds no {', '.join(missing)}; run berxit-sweep first.")
    operating = read_json(sweep_dir / "operating_point.json", "sweep_dir")
    config = BerxitConfig.from_pretrained(model_dir)
    record = pooled([ExitRecord.load(sweep_dir / name, config) for name in RECORDS])
    rows = check_promise(config, record, operating["metric"], args.promise, args.draws, args.seed)
    table = markdown_table(rows)
    title = (
        f"{args.draws} random halves of {len(record)} examples (validation + test); chosen on one half, the drop of "
        f"{operating['metric']} measured on the other; held: drop <= {args.max_drop:g} point(s)."
    )
    write_text_atomic(sweep_dir / "promise_check.md", f"{title}\n\n{table}")
    write_text_atomic(sweep_dir / "promise_check.json", json.dumps({"title": title, "rows": rows}, indent=1))
    print(f"{title}\n\n{table}")


if __name__ == "__main__":
    main(sys.argv[1:])
