"""berxit-train: fine-tune a BERxiT model on a task (default: the packaged MiniLM on Rotten Tomatoes).

    berxit-train --output_dir runs/rt                                   # the embedded default
    berxit-train --dataset glue/rte --glue_dir ../shared/data/glue --output_dir runs/rte --exit_strategy joint
    accelerate launch --multi_gpu --num_processes 2 -m berxit.scripts.train --output_dir runs/rt

Every `TrainingArguments` option works (`--learning_rate`, `--num_train_epochs`, `--resume_from_checkpoint`, ...),
plus `--exit_strategy`. The fine-tuned model, its tokenizer and `berxit_run.json` land in `--output_dir`.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..artifacts.atomic_files import check_writable
from ..configuration_berxit.config import CERTAINTY_INPUTS
from ..data import is_local_data, split_fingerprints
from ..trainer import BerxitTrainingArguments
from ..trainer.recipes import DEFAULT_RECIPE, RECIPES, recipe_settings
from ..workflows.fine_tune import fine_tune, resume_checkpoint
from .arguments import DataArguments, command, parse_arguments


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "A plain BERT/RoBERTa checkpoint (Hub id or folder) to start from, or a berxit checkpoint to go "
            "on training. Default: the packaged MiniLM-L6 (offline)."
        },
    )
    exit_pooling: str | None = field(
        default=None,
        metadata={
            "help": "What every exit reads of its layer: 'cls' or 'mean' (over the real tokens). Default: what the "
            "checkpoint declares ('mean' for a sentence-transformers checkpoint with mean pooling, like the packaged "
            "MiniLM; else 'cls').",
            "choices": ["cls", "mean"],
        },
    )
    certainty_inputs: str | None = field(
        default=None,
        metadata={
            "help": "What the certainty head reads of each exit: 'pooled_and_answer' (its pooled vector and the "
            "exit's answer: class probabilities, margin, negentropy; the prediction for regression; the default of a "
            "new model) or 'pooled' (the pooled vector alone, the paper's). A berxit checkpoint keeps its own.",
            "choices": list(CERTAINTY_INPUTS),
        },
    )


@dataclass
class RunArguments:
    recipe: str | None = field(
        default=None,
        metadata={
            "help": f"A recipe by name (berxit.trainer.recipes): 'paper', '{DEFAULT_RECIPE}' (berxit's default) or "
            "a step of the certainty head's ablation; sets every one of its settings (give it, or the settings, not "
            "both).",
            "choices": list(RECIPES),
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace the run already in --output_dir (its model, run record and sweep) once this one ends."
        },
    )


@command("berxit-train")
def main(argv: list[str] | None = None) -> None:
    model_args, data_args, run_args, training_args = parse_arguments(
        (ModelArguments, DataArguments, RunArguments, BerxitTrainingArguments), argv, "berxit-train"
    )
    if run_args.recipe is not None:
        apply_recipe(run_args.recipe, model_args, training_args, argv if argv is not None else sys.argv[1:])
    if training_args.max_steps <= 0 and training_args.num_train_epochs <= 0:  # nothing trained is no fine-tuned model
        raise ValueError(
            f"num_train_epochs: expected more than 0 (or --max_steps), got {training_args.num_train_epochs:g}."
        )
    output_dir = Path(training_args.output_dir)
    resume = resume_checkpoint(training_args.resume_from_checkpoint, output_dir)
    if output_dir.is_dir() and any(output_dir.iterdir()) and not (run_args.overwrite_output_dir or resume):
        raise ValueError(
            f"output_dir: {output_dir} already holds files (an earlier run?); pass --overwrite_output_dir to replace "
            "its run when this one ends, or --resume_from_checkpoint to go on from its last checkpoint."
        )
    created = not output_dir.exists()
    try:
        check_writable(output_dir, "output_dir")
        task = data_args.load()
        print(f"Task {task.name}: {task.labels_rule or f'{task.num_labels} classes {task.label_names}'}.")
        # The sweep evaluates on the same task and splits, from wherever it runs: local paths are kept absolute,
        # and the splits' fingerprints let it refuse data changed since.
        data = asdict(data_args)
        if is_local_data(data_args.dataset):
            data["dataset"] = str(Path(data_args.dataset).resolve())
        if data_args.glue_dir is not None:
            data["glue_dir"] = str(Path(data_args.glue_dir).resolve())
        run_info = {"data": data, "data_sha256": split_fingerprints(task.splits)}
        if data_args.max_train_samples is not None:
            train = task.splits["train"]
            task.splits["train"] = train.select(range(min(data_args.max_train_samples, len(train))))
        run_info = fine_tune(
            task,
            model_args.model_name_or_path,
            training_args,
            max_length=data_args.max_length,
            output_dir=output_dir,
            resume=resume,
            run_info=run_info,
            exit_pooling=model_args.exit_pooling,
            certainty_inputs=model_args.certainty_inputs,
        )
    except BaseException:
        if created and output_dir.is_dir() and not any(output_dir.iterdir()):
            output_dir.rmdir()  # a run that failed before writing anything leaves nothing behind
        raise
    if training_args.process_index == 0:
        fit = run_info.get("certainty_fit")
        if fit is not None and fit["strength"] is not None:
            strength = f"L2 C = {fit['strength']:g}"
            print(f"Certainty head fitted on {fit['examples']} held-out training examples ({strength}).")
        elif fit is not None:
            print(f"Certainty head: nothing to fit on {fit['examples']} held-out examples; kept as trained.")
        print(f"Fine-tuned model: {output_dir}")


def apply_recipe(
    name: str, model_args: ModelArguments, training_args: BerxitTrainingArguments, argv: list[str]
) -> None:
    """Sets every setting of recipe `name`; refuses a setting also given on its own (which would win is unclear)."""
    settings = recipe_settings(name)
    given = sorted(key for key in settings if f"--{key}" in argv or any(arg.startswith(f"--{key}=") for arg in argv))
    if given:
        raise ValueError(f"recipe: {name!r} sets {', '.join(given)} too; give the recipe or those settings, not both.")
    model_args.certainty_inputs = settings.pop("certainty_inputs")
    for key, value in settings.items():
        setattr(training_args, key, value)
    training_args.objective("all_exits")  # checked as the arguments check it


if __name__ == "__main__":
    main(sys.argv[1:])
