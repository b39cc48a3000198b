"""berxit-experiments: BERxiT against joint and two-stage training and against the entropy and patience rules,
on GLUE RTE, MRPC, STS-B and SST-2 with the packaged MiniLM-L6; then `docs/RESULTS.md` from the saved JSON.

    berxit-experiments --glue_dir ../shared/data/glue --tasks rte,mrpc --results_dir docs/results
    berxit-experiments --results_dir docs/results --report_only     # rebuild docs/RESULTS.md, no training

Each run (task x strategy) fine-tunes with the same hyper-parameters (the paper's: lr 2e-5, batch 8, max length
128, 3 epochs, seed 42, by default), records every exit on the validation split (held out of GLUE train) and on
the test split (GLUE dev), and saves its numbers to `<results_dir>/<task>/<strategy>.json`. A run whose JSON exists
is skipped, so the experiments resume where they stopped. `plain` is ordinary fine-tuning of the backbone with no
exits (transformers' BertForSequenceClassification), the reference for the final-layer metric.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from ..modeling_berxit import BerxitForSequenceClassification
from ..trainer import BerxitTrainer, BerxitTrainingArguments
from ..trainer.metrics import task_metrics
from .arguments import command, parse_arguments
from .curves import choose_operating_point, curve, point, rules_for
from .data import label_mean, load_task, packaged_backbone_dir, tokenize
from .files import check_writable, write_text_atomic
from .records import ExitRecord, record_exits
from .results_report import MAX_DROP, STRATEGIES, TASKS, render_report


@dataclass
class ExperimentArguments:
    results_dir: str = field(default="docs/results", metadata={"help": "Where each run's JSON goes."})
    report: str = field(default="docs/RESULTS.md", metadata={"help": "The report generated from the JSON."})
    glue_dir: str | None = field(default=None, metadata={"help": "GLUE TSVs (<TASK>/train.tsv, dev.tsv)."})
    tasks: str = field(default=",".join(TASKS), metadata={"help": "Comma-separated GLUE tasks."})
    strategies: str = field(default=",".join(STRATEGIES), metadata={"help": "Comma-separated strategies."})
    report_only: bool = field(default=False, metadata={"help": "Only rebuild the report from saved JSON."})
    sst2_train_examples: int = field(
        default=8000, metadata={"help": "SST-2 trains on this fixed subsample (the first N of its seeded train split)."}
    )
    max_train_examples: int | None = field(
        default=None, metadata={"help": "Cap every task's train split (smoke runs)."}
    )
    max_eval_examples: int | None = field(default=None, metadata={"help": "Cap validation and test (smoke runs)."})
    learning_rate: float = 2e-5
    batch_size: int = 8
    epochs: float = 3.0
    max_length: int = 128
    seed: int = 42

    def __post_init__(self):
        self.task_list = [task.strip().lower().replace("-", "") for task in self.tasks.split(",")]
        self.strategy_list = [strategy.strip() for strategy in self.strategies.split(",")]
        unknown = set(self.task_list) - set(TASKS) | set(self.strategy_list) - set(STRATEGIES)
        if unknown:
            raise ValueError(f"tasks/strategies: unknown {sorted(unknown)}; tasks {TASKS}, strategies {STRATEGIES}.")
        if not self.report_only and self.glue_dir is None:
            raise ValueError("glue_dir: the experiments read GLUE from local TSVs; give the folder.")


def run_one(args: ExperimentArguments, task_name: str, strategy: str) -> dict:
    task = load_task(f"glue/{task_name}", glue_dir=args.glue_dir)
    splits = task.splits
    cap = args.sst2_train_examples if task_name == "sst2" else args.max_train_examples
    if args.max_train_examples is not None:
        cap = min(cap, args.max_train_examples)
    caps = {"train": cap, "validation": args.max_eval_examples, "test": args.max_eval_examples}
    for split, limit in caps.items():
        if limit is not None:
            splits[split] = splits[split].select(range(min(limit, len(splits[split]))))
    backbone = packaged_backbone_dir()
    tokenizer = AutoTokenizer.from_pretrained(backbone)
    tokenized = tokenize(splits, tokenizer, args.max_length)
    common = dict(
        learning_rate=args.learning_rate,
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        adam_epsilon=1e-8,
        weight_decay=0.0,
        max_grad_norm=1.0,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        disable_tqdm=True,
        dataloader_pin_memory=False,
    )
    steps = math.ceil(args.epochs * math.ceil(len(tokenized["train"]) / args.batch_size))
    if strategy == "two_stage" and steps % 2:
        common["max_steps"] = steps + 1  # two equal stages need an even number of steps
    # BERxiT's regression outputs start at the training labels' mean (`BerxitModel.init_regression_outputs`: from
    # 0, the summed MSE of all exits flattens MiniLM on STS-B); plain fine-tuning stays exactly as transformers has it.
    start = label_mean(splits["train"]) if task.is_regression and strategy != "plain" else None
    with tempfile.TemporaryDirectory() as output_dir:
        if strategy == "plain":
            model = BertForSequenceClassification.from_pretrained(backbone, num_labels=task.num_labels)
            trainer = Trainer(
                model=model,
                args=TrainingArguments(output_dir=output_dir, **common),
                train_dataset=tokenized["train"],
                data_collator=DataCollatorWithPadding(tokenizer),
            )
        else:
            model = BerxitForSequenceClassification.from_pretrained_backbone(backbone, num_labels=task.num_labels)
            if start is not None:
                model.init_regression_outputs(start)
            trainer = BerxitTrainer(
                model=model,
                args=BerxitTrainingArguments(output_dir=output_dir, exit_strategy=strategy, **common),
                train_dataset=tokenized["train"],
                data_collator=DataCollatorWithPadding(tokenizer),
            )
        train_output = trainer.train()
    result = {
        "task": task.name,
        "strategy": strategy,
        "metric": task.metric,
        "train_examples": len(splits["train"]),
        "train_seconds": train_output.metrics["train_runtime"],
        "hyperparameters": {
            k: common[k] for k in ("learning_rate", "per_device_train_batch_size", "num_train_epochs", "seed")
        },
        **({} if start is None else {"regression_outputs_start_at": start}),
    }
    model.eval()
    if strategy == "plain":
        result["test"] = plain_metrics(model, tokenized["test"], tokenizer, task.is_regression)
        return result
    records = {split: record_exits(model, tokenized[split], tokenizer) for split in ("validation", "test")}
    result.update(sweep_records(model.config, records, task.metric, MAX_DROP))
    return result


@torch.no_grad()
def plain_metrics(model, dataset, tokenizer, is_regression: bool) -> dict:
    loader = torch.utils.data.DataLoader(dataset, batch_size=64, collate_fn=DataCollatorWithPadding(tokenizer))
    logits, labels = [], []
    for batch in loader:
        labels.append(batch.pop("labels"))
        logits.append(model(**batch).logits)
    return task_metrics(torch.cat(logits), torch.cat(labels), is_regression)


def sweep_records(config, records: dict[str, ExitRecord], metric: str, max_drop: float) -> dict:
    """Per-exit metrics, the final layer, every rule's curve, and each rule's operating point within `max_drop`."""
    out = {"per_exit_test": [], "final": {}, "curves_test": {}, "operating_points": {}}
    test = records["test"]
    for layer in range(test.num_layers):
        out["per_exit_test"].append(task_metrics(test.exit_logits[:, layer], test.labels, config.is_regression))
    finals = {split: point(config, record, None) for split, record in records.items()}
    out["final"] = finals["test"]
    for rule in rules_for(config):
        curves = {split: curve(config, record, rule) for split, record in records.items()}
        out["curves_test"][rule] = curves["test"]
        chosen = choose_operating_point(curves["validation"], finals["validation"], metric, max_drop)
        on_test = point(config, test, rule, chosen["setting"])
        out["operating_points"][rule] = {"setting": chosen["setting"], "validation": chosen[metric], "test": on_test}
    return out


@command("berxit-experiments")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ExperimentArguments, argv, "berxit-experiments")
    results_dir = check_writable(args.results_dir, "results_dir")
    if not args.report_only:
        for task_name in args.task_list:
            for strategy in args.strategy_list:
                path = results_dir / task_name / f"{strategy}.json"
                if path.is_file():
                    print(f"{task_name}/{strategy}: done already ({path})")
                    continue
                print(f"{task_name}/{strategy}: training")
                result = run_one(args, task_name, strategy)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomic(path, json.dumps(result, indent=1))
                print(f"{task_name}/{strategy}: saved {path}")
    report = Path(args.report)
    check_writable(report.parent, "report")
    write_text_atomic(report, render_report(results_dir, report.parent))
    print(f"Report: {report}")


if __name__ == "__main__":
    main(sys.argv[1:])
