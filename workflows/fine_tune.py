"""Fine-tuning a task end to end, as `berxit-train` does: data, model, `BerxitTrainer`, and a finished run folder."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoConfig, DataCollatorWithPadding, set_seed
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import logging

from ..artifacts.run_record import finish_run
from ..data import PACKAGED_BACKBONE_HUB_ID, TaskData, label_mean, packaged_backbone_dir, tokenize
from ..data.tokenizer import load_tokenizer
from ..modeling_berxit import BerxitForSequenceClassification
from ..trainer.berxit_metrics import BerxitMetrics
from ..trainer.berxit_trainer import BerxitTrainer
from ..trainer.training_args import BerxitTrainingArguments

logger = logging.get_logger(f"transformers.{__name__}")

SMALL_SPLIT = 50  # examples; fewer and a split's metrics say little


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


def fine_tune(
    task: TaskData,
    model_name_or_path: str | None,
    training_args: BerxitTrainingArguments,
    *,
    max_length: int,
    output_dir: Path,
    resume: str | None,
    run_info: dict,
    exit_pooling: str | None = None,
    certainty_inputs: str | None = None,
) -> dict:
    """Fine-tunes `model_name_or_path` (a plain checkpoint, a berxit one, or the packaged MiniLM) on `task` and
    leaves a finished run in `output_dir`; `run_info` goes into its record, which is returned (with how the certainty
    head was fitted on held-out examples, where it was). `exit_pooling` None follows what the checkpoint declares;
    `certainty_inputs` None is the config's default for a new model and the checkpoint's own for a berxit one."""
    warn_if_small(task.splits)
    source = model_name_or_path or str(packaged_backbone_dir())
    tokenizer = load_tokenizer(source, "model_name_or_path")
    set_seed(training_args.seed)  # before the new heads are built, so that the same command gives the same weights
    is_berxit_checkpoint = AutoConfig.from_pretrained(source).model_type == "berxit"
    if is_berxit_checkpoint:
        model = BerxitForSequenceClassification.from_pretrained(source)
        if exit_pooling not in (None, model.config.exit_pooling):
            raise ValueError(
                f"exit_pooling: the berxit checkpoint {source} was trained with {model.config.exit_pooling!r} "
                f"pooling; it cannot go on with {exit_pooling!r}."
            )
        if certainty_inputs not in (None, model.config.certainty_inputs):
            raise ValueError(
                f"certainty_inputs: the berxit checkpoint {source} has a certainty head that reads "
                f"{model.config.certainty_inputs!r}; it cannot go on with {certainty_inputs!r}."
            )
    else:
        settings = {} if certainty_inputs is None else {"certainty_inputs": certainty_inputs}
        if task.label_names:
            settings.update(
                id2label=dict(enumerate(task.label_names)), label2id={n: i for i, n in enumerate(task.label_names)}
            )
        model = BerxitForSequenceClassification.from_pretrained_backbone(
            source, num_labels=task.num_labels, exit_pooling=exit_pooling, **settings
        )
    if model.config.num_labels != task.num_labels:
        raise ValueError(
            f"model_name_or_path: the model predicts {model.config.num_labels} labels; {task.name} has "
            f"{task.num_labels}."
        )
    limit = model.base_model.adapter.max_sequence_length(model.config.backbone_config)
    if limit is not None and max_length > limit:
        raise ValueError(f"max_length: {max_length} tokens exceed the backbone's limit of {limit} positions.")
    if task.is_regression and not is_berxit_checkpoint:
        model.init_regression_outputs(label_mean(task.splits["train"]))
    tokenized = tokenize(task.splits, tokenizer, max_length)
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

    base_model = model_name_or_path or PACKAGED_BACKBONE_HUB_ID
    if Path(base_model).exists():  # a local folder has no Hub id for the model card
        base_model = None
    run_info = {
        "base_model": base_model,
        "exit_strategy": training_args.exit_strategy,
        "objective": training_args.recipe(),
        "seed": training_args.seed,
        "train_examples": len(trainer.train_dataset),
        **run_info,
    }
    fits = [logs for logs in trainer.state.log_history if "certainty_fit_examples" in logs]
    if fits:  # the latest fit
        run_info["certainty_fit"] = {
            "examples": fits[-1]["certainty_fit_examples"],
            "strength": fits[-1].get("certainty_fit_strength"),  # None: nothing to learn, the trained head kept
        }
    finish_run(output_dir, lambda folder: trainer.save_model(str(folder)), run_info, trainer.is_world_process_zero())
    return run_info


def warn_if_small(splits) -> None:
    """Metrics on a handful of examples say little: say so rather than report them as if they did."""
    for name, split in splits.items():
        if len(split) < SMALL_SPLIT:
            logger.warning(f"The {name} split has only {len(split)} examples: its results will be unreliable.")
