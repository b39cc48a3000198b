"""Command-line arguments shared by the tools (parsed with `HfArgumentParser`), and how a tool reports mistakes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

from .. import __version__
from ..artifacts.run_record import check_data_unchanged, read_run
from ..data import TaskData, load_task, split_fingerprints

# What a user's input can cause: a bad value, a wrong type, a missing or unwritable file. Anything else is a bug
# and keeps its traceback.
USER_ERRORS = (ValueError, TypeError, OSError)


def parse_arguments(dataclass_types, argv: list[str] | None, prog: str) -> tuple:
    """`HfArgumentParser` over `dataclass_types`, with `--version`."""
    parser = HfArgumentParser(dataclass_types, prog=prog)
    parser.add_argument("--version", action="version", version=f"%(prog)s (berxit) {__version__}")
    return parser.parse_args_into_dataclasses(args=argv)


def command(prog: str) -> Callable:
    """Makes `main(argv)` a console command: an error the user caused is one line on stderr, naming the argument
    (`berxit-sweep: error: max_drop: expected ...`), and exit code 2, as argparse does for its own errors."""

    def decorate(main: Callable[[list[str] | None], None]) -> Callable[[list[str] | None], None]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> None:
            try:
                main(argv)
            except USER_ERRORS as error:
                message = " ".join(str(error).split()) or type(error).__name__
                print(f"{prog}: error: {message}", file=sys.stderr)
                raise SystemExit(2) from None

        return run

    return decorate


@dataclass
class DataArguments:
    dataset: str = field(
        default="rotten_tomatoes",
        metadata={
            "help": "'rotten_tomatoes' (embedded, offline), 'glue/<rte|mrpc|stsb|sst2>', a CSV/JSON(L)/TSV file, "
            "or a Hub dataset id."
        },
    )
    glue_dir: str | None = field(
        default=None, metadata={"help": "Folder with GLUE TSVs (<TASK>/train.tsv, dev.tsv); without it, the Hub."}
    )
    text_column: str = field(default="text", metadata={"help": "Text column of a file or Hub dataset."})
    text_pair_column: str | None = field(default=None, metadata={"help": "Second text column, for sentence pairs."})
    label_column: str = field(default="label", metadata={"help": "Label column of a file or Hub dataset."})
    task_type: str | None = field(
        default=None,
        metadata={
            "help": "'classification' or 'regression' for a file or Hub dataset. Default: text and whole-number "
            "labels are classes (numbered in sorted order, names kept), numbers with fractions are regression.",
            "choices": ["classification", "regression"],
        },
    )
    num_labels: int | None = field(
        default=None,
        metadata={"help": "Number of classes of a file or Hub dataset whose labels are the class ids 0..n-1."},
    )
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Share of train held out for validation where the data has no such split."}
    )
    metric: str | None = field(
        default=None,
        metadata={
            "help": "Metric to choose the operating point by and report on (default: accuracy, F1 for MRPC, "
            "Spearman for regression)."
        },
    )
    max_length: int = field(default=128, metadata={"help": "Longest tokenized input; longer ones are truncated."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Train on the first N examples only."})

    def __post_init__(self):
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise ValueError(f"max_train_samples: expected a number of examples >= 1, got {self.max_train_samples}.")
        if self.max_length < 2:
            raise ValueError(f"max_length: expected a number of tokens >= 2 ([CLS] and [SEP]), got {self.max_length}.")
        if self.num_labels is not None and self.num_labels < 1:
            raise ValueError(f"num_labels: expected a number of classes >= 1, got {self.num_labels}.")

    def load(self) -> TaskData:
        return load_task(
            self.dataset,
            glue_dir=self.glue_dir,
            text_column=self.text_column,
            text_pair_column=self.text_pair_column,
            label_column=self.label_column,
            num_labels=self.num_labels,
            validation_fraction=self.validation_fraction,
            metric=self.metric,
            task_type=self.task_type,
        )


def run_data(model_dir: Path) -> tuple[dict, DataArguments, TaskData]:
    """The finished run in `model_dir` (its record checked against its weights), its data arguments and its task,
    refused where the data changed since the run was trained on it."""
    run_info = read_run(model_dir)
    data_args = DataArguments(**run_info["data"])
    task = data_args.load()
    check_data_unchanged(run_info, split_fingerprints(task.splits))
    return run_info, data_args, task
