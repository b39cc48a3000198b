"""berxit-experiments: BERxiT against joint and two-stage training and against the entropy and patience rules,
on GLUE RTE, MRPC, STS-B and SST-2 with the packaged MiniLM-L6; then a report (`<results_dir>/RESULTS.md`, or
`--report`) from the saved JSON.

    berxit-experiments --glue_dir ../shared/data/glue --tasks rte,mrpc --results_dir docs/results
    berxit-experiments --results_dir docs/results_mean --report_only --report docs/RESULTS.md   # no training
    berxit-experiments --glue_dir ../shared/data/glue --tasks rte --strategies plain,alternating --seed 43

A run at another seed than the experiment's is saved as `<strategy>.seed<N>.json`; the report gives mean and
standard deviation over the seeds of each task that has them.

What runs and with which hyper-parameters: `berxit.lab.experiments.definition`; how: `berxit.lab.experiments.run_grid`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ...artifacts.atomic_files import check_writable, write_text_atomic
from ...scripts.arguments import command, parse_arguments
from ...trainer.recipes import RECIPES
from ..experiments.definition import HYPERPARAMETERS, SST2_TRAIN_EXAMPLES, TASKS, VARIANTS
from ..experiments.run_grid import run_experiments
from ..reporting.results import render_report


@dataclass
class ExperimentArguments:
    results_dir: str = field(default="docs/results", metadata={"help": "Where each run's JSON goes."})
    report: str | None = field(
        default=None,
        metadata={
            "help": "The report generated from the JSON (default: RESULTS.md in --results_dir, so that an "
            "ablation's folder never overwrites another experiment's report)."
        },
    )
    glue_dir: str | None = field(default=None, metadata={"help": "GLUE TSVs (<TASK>/train.tsv, dev.tsv)."})
    tasks: str = field(default=",".join(TASKS), metadata={"help": "Comma-separated GLUE tasks."})
    strategies: str = field(
        default=",".join(VARIANTS), metadata={"help": "Comma-separated: plain and/or exit strategies."}
    )
    report_only: bool = field(default=False, metadata={"help": "Only rebuild the report from saved JSON."})
    pooling_ablation_dir: str | None = field(
        default=None,
        metadata={"help": "Results of the same experiment with the other exit pooling, compared run by run."},
    )
    sst2_train_examples: int = field(
        default=SST2_TRAIN_EXAMPLES,
        metadata={"help": "SST-2 trains on this fixed subsample (the first N of its seeded train split)."},
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Cap every task's train split (smoke runs)."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Cap validation and test (smoke runs)."})
    exit_pooling: str | None = field(
        default=None,
        metadata={"help": "'cls' or 'mean'; default: what the checkpoint declares.", "choices": ["cls", "mean"]},
    )
    recipe: str = field(
        default="paper",
        metadata={
            "help": "How the exit strategies train (berxit.trainer.recipes.RECIPES): 'paper', or a "
            "change of the ablation; give it its own --results_dir.",
            "choices": list(RECIPES),
        },
    )
    learning_rate: float = HYPERPARAMETERS["learning_rate"]
    batch_size: int = HYPERPARAMETERS["batch_size"]
    epochs: float = HYPERPARAMETERS["epochs"]
    max_length: int = HYPERPARAMETERS["max_length"]
    seed: int = HYPERPARAMETERS["seed"]

    def __post_init__(self):
        self.task_list = [task.strip().lower().replace("-", "") for task in self.tasks.split(",")]
        self.strategy_list = [strategy.strip() for strategy in self.strategies.split(",")]
        unknown = set(self.task_list) - set(TASKS) | set(self.strategy_list) - set(VARIANTS)
        if unknown:
            raise ValueError(f"tasks/strategies: unknown {sorted(unknown)}; tasks {TASKS}, strategies {VARIANTS}.")
        if self.pooling_ablation_dir is not None and not os.path.isdir(self.pooling_ablation_dir):
            raise ValueError(f"pooling_ablation_dir: no such folder {self.pooling_ablation_dir}.")
        if not self.report_only and self.glue_dir is None:
            raise ValueError("glue_dir: the experiments read GLUE from local TSVs; give the folder.")


@command("berxit-experiments")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ExperimentArguments, argv, "berxit-experiments")
    results_dir = run_experiments(args, print)
    report = Path(args.report) if args.report else results_dir / "RESULTS.md"
    check_writable(report.parent, "report")
    ablation = None if args.pooling_ablation_dir is None else Path(args.pooling_ablation_dir)
    write_text_atomic(report, render_report(results_dir, report.parent, ablation))
    print(f"Report: {report}")


if __name__ == "__main__":
    main(sys.argv[1:])
