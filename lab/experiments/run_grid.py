"""Running the GLUE experiment of `definition.py`: one run per task and variant, each saved as JSON and skipped
when its JSON exists, so the experiment resumes where it stopped; then `docs/RESULTS.md` from the JSON.

Each run fine-tunes with the same hyper-parameters, records every exit on the validation split (held out of GLUE
train) and on the test split (GLUE dev), and saves its numbers to `<results_dir>/<task>/<variant>.json`. `plain`
is ordinary fine-tuning of the backbone with no exits (transformers' BertForSequenceClassification), the
reference for the final-layer metric.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)
from transformers.utils import logging

from ...artifacts.atomic_files import check_writable, write_text_atomic
from ...data import label_mean, load_task, packaged_backbone_dir, tokenize
from ...evaluation import ExitRecord, find_operating_point, record_exits, rules_for, task_metrics
from ...evaluation.records import collect_outputs, padded_batches
from ...evaluation.risk_control import Promise
from ...modeling_berxit import BerxitForSequenceClassification
from ...trainer import BerxitTrainer, BerxitTrainingArguments
from ...trainer.recipes import recipe_settings
from ...trainer.strategies import exit_strategy
from .definition import CONFIDENCE, MAX_DROP, record_file_name, run_file_name

logger = logging.get_logger(f"transformers.{__name__}")

# The training arguments a run's JSON records (the report states them from there).
HYPERPARAMETER_NAMES = (
    "learning_rate",
    "per_device_train_batch_size",
    "num_train_epochs",
    "seed",
    "adam_epsilon",
    "weight_decay",
    "max_grad_norm",
)


def run_one(args, task_name: str, strategy: str) -> tuple[dict, dict[str, ExitRecord]]:
    """One run: `task_name` fine-tuned as `strategy` (a variant of `definition.VARIANTS`) with the settings in
    `args` (`berxit-experiments`' arguments), recorded and swept; the run's JSON as a dict, and its records of
    validation and test (none for plain fine-tuning)."""
    task = load_task(f"glue/{task_name}", glue_dir=args.glue_dir)
    splits = task.splits
    cap = args.sst2_train_examples if task_name == "sst2" else args.max_train_samples
    if args.max_train_samples is not None:
        cap = min(cap, args.max_train_samples)
    caps = {"train": cap, "validation": args.max_eval_samples, "test": args.max_eval_samples}
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
    if strategy != "plain" and exit_strategy(strategy).runnable_steps(steps) != steps:
        common["max_steps"] = exit_strategy(strategy).runnable_steps(steps)  # e.g. two equal stages of two_stage
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
            objective = recipe_settings(args.recipe)  # the recipe in full, whatever berxit's defaults are
            model_settings = {"certainty_inputs": objective.pop("certainty_inputs")}
            model = BerxitForSequenceClassification.from_pretrained_backbone(
                backbone, num_labels=task.num_labels, exit_pooling=args.exit_pooling, **model_settings
            )
            if start is not None:
                model.init_regression_outputs(start)
            trainer = BerxitTrainer(
                model=model,
                args=BerxitTrainingArguments(output_dir=output_dir, exit_strategy=strategy, **common, **objective),
                train_dataset=tokenized["train"],
                data_collator=DataCollatorWithPadding(tokenizer),
            )
        train_output = trainer.train()
    result = {
        "task": task.name,
        "strategy": strategy,
        "metric": task.metric,
        "train_examples": len(trainer.train_dataset),  # less what a recipe held out for the certainty head
        "examples": {split: len(examples) for split, examples in splits.items()},
        "dropped_duplicates": task.dropped_duplicates,
        "train_seconds": train_output.metrics["train_runtime"],
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "backbone": {
            "name": backbone.parent.name,
            "num_layers": model.config.num_hidden_layers,
            "hidden_size": model.config.hidden_size,
        },
        "hyperparameters": {
            **{key: common[key] for key in HYPERPARAMETER_NAMES},
            "max_length": args.max_length,
        },
        **({} if start is None else {"regression_outputs_start_at": start}),
        **({} if strategy == "plain" else {"exit_pooling": model.config.exit_pooling, "recipe": args.recipe}),
    }
    model.eval()
    if strategy == "plain":
        result["test"] = plain_metrics(model, tokenized["test"], tokenizer, task.is_regression)
        return result, {}
    records = {split: record_exits(model, tokenized[split], tokenizer) for split in ("validation", "test")}
    result.update(record_results(model.config, records, task.metric, Promise("harm", MAX_DROP / 100, CONFIDENCE)))
    return result, records


def plain_metrics(model, dataset, tokenizer, is_regression: bool) -> dict:
    outputs = collect_outputs(model, padded_batches(dataset, tokenizer, 64), ("logits", "labels"))
    return task_metrics(outputs["logits"], outputs["labels"], is_regression)


def record_results(config, records: dict[str, ExitRecord], metric: str, promise: Promise) -> dict:
    """Per-exit metrics, the final layer, every rule's curve, and each rule's operating point as `promise` says."""
    test = records["test"]
    per_exit = [
        task_metrics(test.exit_logits[:, layer], test.labels, config.is_regression) for layer in range(test.num_layers)
    ]
    out = {"per_exit_test": per_exit, "final": {}, "curves_test": {}, "operating_points": {}}
    for rule in rules_for(config):
        point = find_operating_point(config, records, rule, metric, promise)
        out["final"] = point["final"]["test"]
        out["curves_test"][rule] = point["curves"]["test"]
        chosen = point["chosen"]
        out["operating_points"][rule] = {
            "setting": chosen["setting"],
            "certified": chosen["certified"],
            "certified_bound": chosen["bound"],
            "validation": chosen[metric],
            "test": point["on_test"],
        }
    out["promise"] = {"risk": promise.risk, "epsilon": promise.epsilon, "confidence": promise.confidence}
    return out


def run_experiments(args, say: Callable[[str], None] = logger.info) -> Path:
    """Every run of `args.task_list` x `args.strategy_list` not saved yet; returns the results folder. `say` hears
    what each run does (the command prints it)."""
    results_dir = check_writable(args.results_dir, "results_dir")
    if not args.report_only:
        for task_name in args.task_list:
            for strategy in args.strategy_list:
                path = results_dir / task_name / run_file_name(strategy, args.seed)
                if path.is_file():
                    say(f"{task_name}/{strategy}: done already ({path})")
                    continue
                say(f"{task_name}/{strategy}: training")
                result, records = run_one(args, task_name, strategy)
                path.parent.mkdir(parents=True, exist_ok=True)
                for split, record in records.items():  # before the JSON, which marks the run done
                    record.save(path.parent / record_file_name(strategy, args.seed, split))
                write_text_atomic(path, json.dumps(result, indent=1))
                say(f"{task_name}/{strategy}: saved {path}")
    return results_dir
