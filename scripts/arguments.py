"""Command-line arguments shared by the tools (parsed with `HfArgumentParser`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import TaskData, load_task


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
    num_labels: int | None = field(
        default=None, metadata={"help": "Number of classes of a file or Hub dataset (default: inferred)."}
    )
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Share of train held out for validation where the data has no such split."}
    )
    metric: str | None = field(
        default=None,
        metadata={
            "help": "Metric to calibrate and report on (default: accuracy, F1 for MRPC, Spearman for regression)."
        },
    )
    max_length: int = field(default=128, metadata={"help": "Longest tokenized input; longer ones are truncated."})

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
        )
