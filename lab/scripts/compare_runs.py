"""berxit-compare-runs: runs trained with different recipes, side by side on the numbers an ablation chooses by.

    berxit-compare-runs --runs runs/ablations/paper,runs/ablations/answer --output docs/ablations/main_job.md
    berxit-compare-runs --runs docs/results_mean/mrpc/alternating.json,docs/ablations/answer/mrpc/alternating.json

Each run is a folder of berxit-train swept by berxit-sweep (its records of validation and test), or a run of
berxit-experiments (its JSON, records beside). The table gives, on test: the final layer, each exit, the certainty
head's AUROC per exit beside the max-softmax's (and, for a run folder, on its first `--train_examples` training
examples: the head ranking answers it was fitted on; and a refit head's: a logistic regression over what the head
reads, fitted on validation, ranking test: how far a better-trained head could get), the most layers each rule's
curve saves within `--max_drop` points of the run's final layer beside static depth (every example at one exit) and
beside the agreement oracle (the certainty rule scoring each exit by its agreement with the final exit: what a head
that ranked berxit's target perfectly would save; and for a regression run folder, the refit head's saving), and
each rule's operating point certified on validation (Learn then Test, `--confidence`) with its test drop. The
numbers go to `<output>.json`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetDict

from ...artifacts.atomic_files import check_writable, write_text_atomic
from ...artifacts.run_record import SWEEP
from ...data import tokenize
from ...data.tokenizer import load_tokenizer
from ...evaluation.records import ExitRecord, padded_batches, record_certainty_features, record_exits
from ...evaluation.risk_control import Promise
from ...modeling_berxit import BerxitForSequenceClassification
from ...scripts.arguments import command, parse_arguments, run_data
from ...trainer.training_args import recipe_changes
from ..analysis.run_comparison import compare_run
from ..experiments.analysis import run_with_records
from ..reporting.comparison_table import render_comparison


@dataclass
class CompareArguments:
    runs: str = field(
        metadata={"help": "Comma-separated runs: folders of berxit-train + berxit-sweep, or berxit-experiments JSONs."}
    )
    output: str = field(
        metadata={"help": "The markdown table written (a .md file); its numbers go to the same name with .json."}
    )
    train_examples: int = field(
        default=1280,
        metadata={"help": "Training examples of a run folder recorded to rank the head on what it was fitted on."},
    )
    max_drop: float = field(default=1.0, metadata={"help": "Points of the final layer's metric a saving may cost."})
    confidence: float = field(default=0.9, metadata={"help": "Confidence of the certified operating points."})

    def __post_init__(self):
        if Path(self.output).suffix.lower() != ".md":
            raise ValueError(
                f"output: expected a markdown file ending in .md (its numbers go beside it as .json), "
                f"got {self.output}."
            )
        self.paths = [Path(run.strip()) for run in self.runs.split(",") if run.strip()]
        if not self.paths:
            raise ValueError("runs: expected at least one run folder or run JSON.")
        twice = sorted({str(path) for path in self.paths if self.paths.count(path) > 1})
        if twice:
            raise ValueError(f"runs: {', '.join(twice)} given twice.")
        if self.train_examples < 0:
            raise ValueError(f"train_examples: expected a number of examples >= 0, got {self.train_examples}.")
        if not 0 <= self.max_drop <= 100:
            raise ValueError(f"max_drop: expected a number of points in [0, 100], got {self.max_drop}.")
        self.promise = Promise("harm", self.max_drop / 100, self.confidence)


def folder_run(folder: Path, train_examples: int) -> tuple[dict, object, dict[str, ExitRecord], dict]:
    """A run of berxit-train swept by berxit-sweep: what it is (task, metric, strategy, recipe changes), its config,
    its records (and the first `train_examples` of its training split, recorded now) and what its certainty head
    reads on validation and test (recorded now)."""
    run_info, data_args, task = run_data(folder)
    sweep = folder / SWEEP
    missing = [split for split in ("validation", "test") if not (sweep / f"record_{split}.npz").is_file()]
    if missing:
        raise ValueError(f"runs: {folder} has no sweep records of {', '.join(missing)}; run berxit-sweep.")
    model = BerxitForSequenceClassification.from_pretrained(folder)
    records = {split: ExitRecord.load(sweep / f"record_{split}.npz", model.config) for split in ("validation", "test")}
    tokenizer = load_tokenizer(folder, "runs")
    splits = DatasetDict(validation=task.splits["validation"], test=task.splits["test"])
    if train_examples:
        splits["train"] = task.splits["train"].select(range(min(train_examples, len(task.splits["train"]))))
    tokenized = tokenize(splits, tokenizer, data_args.max_length)
    if "train" in tokenized:
        records["train"] = record_exits(
            model, tokenized["train"], tokenizer, description=f"Recording {folder.name} train"
        )
    features = {
        split: record_certainty_features(model, padded_batches(tokenized[split], tokenizer, 64))[0]
        for split in ("validation", "test")
    }
    if any(len(features[split]) != len(records[split]) for split in features):
        raise ValueError(f"runs: {folder}'s sweep records are not of its validation and test splits; run berxit-sweep.")
    about = {
        "task": task.name,
        "metric": task.metric,
        "strategy": run_info.get("exit_strategy", "alternating"),
        "changes": recipe_changes(model.config, run_info.get("objective", {})),
        "seed": run_info.get("seed"),  # None: a run recorded before runs kept their seed
    }
    return about, model.config, records, features


def experiment_run(path: Path) -> tuple[dict, object, dict[str, ExitRecord]]:
    """A run of berxit-experiments: what it is, a config that replays its rules, and its records."""
    run, config, records, changes = run_with_records(path)
    about = {
        "task": run["task"],
        "metric": run["metric"],
        "strategy": run["strategy"],
        "changes": changes,
        "seed": run["hyperparameters"]["seed"],
    }
    return about, config, records


@command("berxit-compare-runs")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(CompareArguments, argv, "berxit-compare-runs")
    output = Path(args.output)
    check_writable(output.parent, "output")
    runs, metrics = {}, set()
    for path in args.paths:
        if path.suffix == ".json":
            about, config, records = experiment_run(path)
            features = None  # the experiments keep no model
            name = f"{path.parent.parent.name}/{path.parent.name}/{path.stem}"  # <results_dir>/<task>/<strategy>
        else:
            about, config, records, features = folder_run(path, args.train_examples)
            name = path.name
        if name in runs:  # runs/ablations/paper beside runs/ablations_seed43/paper
            name = str(path)
        runs[name] = {**about, **compare_run(config, records, about["metric"], args.promise, args.max_drop, features)}
        metrics.add(about["metric"])
        print(f"{name}: compared")
    if len(metrics) > 1:
        raise ValueError(f"runs: they are measured by different metrics ({sorted(metrics)}); compare runs of one task.")
    text = render_comparison(runs, metrics.pop(), args.max_drop, args.promise)
    write_text_atomic(output, text)
    write_text_atomic(output.with_suffix(".json"), json.dumps(runs, indent=1))
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
