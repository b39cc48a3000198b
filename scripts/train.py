"""berxit-train: fine-tune a BERxiT model on a task (default: the packaged MiniLM on Rotten Tomatoes).

    berxit-train --output_dir runs/rt                                   # the embedded default
    berxit-train --dataset glue/rte --glue_dir ../shared/data/glue --output_dir runs/rte --exit_strategy joint
    accelerate launch --multi_gpu --num_processes 2 -m berxit.scripts.train --output_dir runs/rt

Every `TrainingArguments` option works (`--learning_rate`, `--num_train_epochs`, `--resume_from_checkpoint`, ...),
plus `--exit_strategy`. The fine-tuned model, its tokenizer and `berxit_run.json` land in `--output_dir`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import AutoConfig, AutoTokenizer, DataCollatorWithPadding, set_seed
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import logging

from ..modeling_berxit import BerxitForSequenceClassification
from ..trainer import BerxitMetrics, BerxitTrainer, BerxitTrainingArguments
from .arguments import DataArguments, command, parse_arguments
from .data import PACKAGED_BACKBONE_HUB_ID, label_mean, packaged_backbone_dir, tokenize
from .files import check_writable, sha256_file, write_text_atomic

logger = logging.get_logger(f"transformers.{__name__}")

RUN_INFO = "berxit_run.json"
WEIGHTS = "model.safetensors"
STAGING = ".berxit-final"  # where the final model is written before it is swapped in
SMALL_SPLIT = 50


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "A plain BERT/RoBERTa checkpoint (Hub id or folder) to start from, or a berxit checkpoint to go "
            "on training. Default: the packaged MiniLM-L6 (offline)."
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N examples only."})
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace the run already in --output_dir (its model, run record and sweep) once this one ends."
        },
    )

    def __post_init__(self):
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ValueError(f"max_train_samples: expected a number of examples >= 1, got {self.max_train_samples}.")


@command("berxit-train")
def main(argv: list[str] | None = None) -> None:
    model_args, data_args, training_args = parse_arguments(
        (ModelArguments, DataArguments, BerxitTrainingArguments), argv, "berxit-train"
    )
    output_dir = Path(training_args.output_dir)
    resume = resume_checkpoint(training_args.resume_from_checkpoint, output_dir)
    if output_dir.is_dir() and any(output_dir.iterdir()) and not (model_args.overwrite_output_dir or resume):
        raise ValueError(
            f"output_dir: {output_dir} already holds files (an earlier run?); pass --overwrite_output_dir to replace "
            "its run when this one ends, or --resume_from_checkpoint to go on from its last checkpoint."
        )
    created = not output_dir.exists()
    try:
        train(model_args, data_args, training_args, check_writable(output_dir, "output_dir"), resume)
    except BaseException:
        if created and output_dir.is_dir() and not any(output_dir.iterdir()):
            output_dir.rmdir()  # a run that failed before writing anything leaves nothing behind
        raise


def resume_checkpoint(value: str | None, output_dir: Path) -> str | None:
    """`--resume_from_checkpoint`: a checkpoint folder, or `true` for the last one in `output_dir`."""
    if value is None or value.lower() == "false":
        return None
    if value.lower() == "true":
        last = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
        if last is None:
            raise ValueError(
                f"resume_from_checkpoint: true, but {output_dir} holds no checkpoint-* folder to go on from."
            )
        return last
    if not Path(value).is_dir():
        raise ValueError(f"resume_from_checkpoint: no such checkpoint folder {value}.")
    return value


def train(model_args, data_args, training_args, output_dir: Path, resume: str | None) -> None:
    task = data_args.load()
    print(f"Task {task.name}: {task.labels_rule or f'{task.num_labels} classes {task.label_names}'}.")
    splits = task.splits
    if model_args.max_train_samples is not None:
        splits["train"] = splits["train"].select(range(min(model_args.max_train_samples, len(splits["train"]))))
    warn_if_small(splits)

    source = model_args.model_name_or_path or str(packaged_backbone_dir())
    tokenizer = AutoTokenizer.from_pretrained(source)
    set_seed(training_args.seed)  # before the new heads are built, so that the same command gives the same weights
    is_berxit_checkpoint = AutoConfig.from_pretrained(source).model_type == "berxit"
    if is_berxit_checkpoint:
        model = BerxitForSequenceClassification.from_pretrained(source)
    else:
        labels = {}
        if task.label_names:
            labels = dict(
                id2label=dict(enumerate(task.label_names)), label2id={n: i for i, n in enumerate(task.label_names)}
            )
        model = BerxitForSequenceClassification.from_pretrained_backbone(source, num_labels=task.num_labels, **labels)
    if model.config.num_labels != task.num_labels:
        raise ValueError(
            f"model_name_or_path: the model predicts {model.config.num_labels} labels; {task.name} has "
            f"{task.num_labels}."
        )
    if task.is_regression and not is_berxit_checkpoint:
        model.init_regression_outputs(label_mean(splits["train"]))
    tokenized = tokenize(splits, tokenizer, data_args.max_length)
    trainer = BerxitTrainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=BerxitMetrics(model.config),
    )
    trainer.train(resume_from_checkpoint=resume)

    # The final model is staged, then swapped in; the run record goes last and marks the run finished.
    staging = output_dir / STAGING
    if trainer.is_world_process_zero() and staging.exists():
        shutil.rmtree(staging)  # left by a run killed while saving
    trainer.save_model(str(staging))
    if trainer.is_world_process_zero():
        base_model = model_args.model_name_or_path or PACKAGED_BACKBONE_HUB_ID
        if Path(base_model).exists():  # a local folder has no Hub id for the model card
            base_model = None
        run_info = {
            "base_model": base_model,
            "exit_strategy": training_args.exit_strategy,
            "train_examples": len(splits["train"]),
            "data": asdict(data_args),  # the sweep evaluates on the same task and splits
            "weights_sha256": sha256_file(staging / WEIGHTS),  # what the sweep and the export check they belong to
        }
        (output_dir / RUN_INFO).unlink(missing_ok=True)
        for path in staging.iterdir():
            os.replace(path, output_dir / path.name)
        staging.rmdir()
        shutil.rmtree(output_dir / "sweep", ignore_errors=True)  # results of the weights just replaced
        write_text_atomic(output_dir / RUN_INFO, json.dumps(run_info, indent=2))
        print(f"Fine-tuned model: {output_dir}")


def check_weights_belong(model_dir: Path, results: dict, argument: str, maker: str) -> None:
    """Refuses results (a run record, a sweep) made for other weights than those now in `model_dir`."""
    weights = model_dir / WEIGHTS
    if not weights.is_file():
        raise ValueError(f"{argument}: {model_dir} holds no {WEIGHTS}; run berxit-train first.")
    if results.get("weights_sha256") != sha256_file(weights):
        raise ValueError(
            f"{argument}: the results in {model_dir} were made for other weights than its {WEIGHTS} (changed "
            f"since, or written by an older berxit); run {maker} again."
        )


def warn_if_small(splits) -> None:
    """Metrics on a handful of examples say little: say so rather than report them as if they did."""
    for name, split in splits.items():
        if len(split) < SMALL_SPLIT:
            logger.warning(f"The {name} split has only {len(split)} examples: its results will be unreliable.")


if __name__ == "__main__":
    main(sys.argv[1:])
