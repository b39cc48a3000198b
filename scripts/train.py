"""berxit-train: fine-tune a BERxiT model on a task (default: the packaged MiniLM on Rotten Tomatoes).

    berxit-train --output_dir runs/rt                                   # the embedded default
    berxit-train --dataset glue/rte --glue_dir ../shared/data/glue --output_dir runs/rte --exit_strategy joint
    accelerate launch --multi_gpu --num_processes 2 -m berxit.scripts.train --output_dir runs/rt

Every `TrainingArguments` option works (`--learning_rate`, `--num_train_epochs`, `--resume_from_checkpoint`, ...),
plus `--exit_strategy`. The fine-tuned model, its tokenizer and `berxit_run.json` land in `--output_dir`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from transformers import AutoConfig, AutoTokenizer, DataCollatorWithPadding

from ..modeling_berxit import BerxitForSequenceClassification
from ..trainer import BerxitMetrics, BerxitTrainer, BerxitTrainingArguments
from .arguments import DataArguments, command, parse_arguments
from .data import PACKAGED_BACKBONE_HUB_ID, label_mean, packaged_backbone_dir, tokenize
from .files import check_writable, write_text_atomic

RUN_INFO = "berxit_run.json"


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


@command("berxit-train")
def main(argv: list[str] | None = None) -> None:
    model_args, data_args, training_args = parse_arguments(
        (ModelArguments, DataArguments, BerxitTrainingArguments), argv, "berxit-train"
    )
    output_dir = check_writable(training_args.output_dir, "output_dir")
    task = data_args.load()

    source = model_args.model_name_or_path or str(packaged_backbone_dir())
    tokenizer = AutoTokenizer.from_pretrained(source)
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

    splits = task.splits
    if model_args.max_train_samples is not None:
        splits["train"] = splits["train"].select(range(min(model_args.max_train_samples, len(splits["train"]))))
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
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        base_model = model_args.model_name_or_path or PACKAGED_BACKBONE_HUB_ID
        if Path(base_model).exists():  # a local folder has no Hub id for the model card
            base_model = None
        run_info = {
            "base_model": base_model,
            "exit_strategy": training_args.exit_strategy,
            "train_examples": len(splits["train"]),
            "data": asdict(data_args),  # the sweep evaluates on the same task and splits
        }
        write_text_atomic(output_dir / RUN_INFO, json.dumps(run_info, indent=2))
        print(f"Fine-tuned model: {output_dir}")


if __name__ == "__main__":
    main(sys.argv[1:])
