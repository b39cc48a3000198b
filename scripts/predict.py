"""berxit-predict: a BERxiT model's early-exit predictions for every text of a file (or a Hub dataset).

    berxit-predict --model_dir runs/rotten_tomatoes-export --input reviews.csv --output predictions.csv

Each row of the input comes back, in order and as written (no cell is re-typed), with `predicted_label` (the class
name; for regression, the predicted value), `score` (the class's probability), `exit_layer` and `certainty`. The
model answers at its saved operating point unless `--rule`/`--threshold`/`--patience` say otherwise; examples queue
per layer so that every layer call runs a full batch of rows of similar length (`berxit.serving.LayerQueueScheduler`).
The output (`.csv` or `.jsonl`) is written whole or not at all, and an existing file is replaced only with
`--overwrite`.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..artifacts.atomic_files import check_writable, write_text_atomic
from ..data import read_texts
from ..data.input_files import cell_text, json_text
from ..data.tokenizer import load_tokenizer
from ..exit_rules.rules import EXIT_RULES
from ..modeling_berxit import BerxitForSequenceClassification
from ..onnx_runtime.runner import OnnxBerxitModel
from ..serving.predictions import predict
from .arguments import command, parse_arguments

OUTPUT_SUFFIXES = (".csv", ".jsonl")
RUNTIMES = ("pytorch", "onnxruntime")
# The columns added to the input's: `predict`'s keys, with the label named as a prediction.
COLUMNS = {"label": "predicted_label", "score": "score", "exit_layer": "exit_layer", "certainty": "certainty"}


@dataclass
class PredictArguments:
    model_dir: str = field(metadata={"help": "A berxit checkpoint: a folder (a run or an export) or a Hub model id."})
    input: str = field(
        metadata={
            "help": "Texts to predict: a CSV/TSV/JSON(L) file, a .txt file (one text a line, column 'text') "
            "or a Hub dataset id."
        }
    )
    output: str = field(metadata={"help": "Where the predictions go: a .csv or .jsonl file."})
    text_column: str = field(default="text", metadata={"help": "Text column of the input."})
    text_pair_column: str | None = field(default=None, metadata={"help": "Second text column, for sentence pairs."})
    overwrite: bool = field(default=False, metadata={"help": "Replace an existing output file."})
    batch_size: int = field(default=32, metadata={"help": "Rows per layer call."})
    window: int | None = field(
        default=None,
        metadata={
            "help": "Rows read ahead, from which each layer call takes rows of similar length (default: 8 batches)."
        },
    )
    max_length: int | None = field(default=None, metadata={"help": "Truncate inputs to this many tokens."})
    rule: str | None = field(
        default=None,
        metadata={"help": "Exit rule (default: the saved operating point's).", "choices": list(EXIT_RULES)},
    )
    threshold: float | None = field(default=None, metadata={"help": "Threshold of the certainty or entropy rule."})
    patience: int | None = field(default=None, metadata={"help": "Patience of the patience rule."})
    runtime: str = field(
        default="pytorch",
        metadata={
            "help": "What runs the model: 'pytorch', or 'onnxruntime' for an export made with berxit-export --onnx "
            "(its ONNX graphs, on the same layer-queue scheduler).",
            "choices": list(RUNTIMES),
        },
    )
    quantized: bool = field(
        default=False,
        metadata={"help": "With --runtime onnxruntime, serve the int8 graphs (berxit-export --quantize int8)."},
    )

    def __post_init__(self):
        if self.quantized and self.runtime != "onnxruntime":
            raise ValueError("quantized: the int8 graphs run on ONNX Runtime; pass --runtime onnxruntime.")
        if Path(self.output).suffix.lower() not in OUTPUT_SUFFIXES:
            raise ValueError(f"output: expected a file ending in {' or '.join(OUTPUT_SUFFIXES)}, got {self.output}.")
        if Path(self.output).exists() and not self.overwrite:
            raise ValueError(f"output: {self.output} exists; pass --overwrite to replace it.")
        if Path(self.output).exists() and Path(self.input).exists() and Path(self.output).samefile(self.input):
            raise ValueError(f"output: {self.output} is the input; write the predictions to another file.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected a number of rows >= 1, got {self.batch_size}.")
        if self.window is not None and self.window < self.batch_size:
            raise ValueError(f"window: expected a number of rows >= batch_size ({self.batch_size}), got {self.window}.")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime: expected one of {RUNTIMES}, got {self.runtime!r}.")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"max_length: expected at least 2 tokens, got {self.max_length}.")


@command("berxit-predict")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(PredictArguments, argv, "berxit-predict")
    check_writable(Path(args.output).parent, "output")
    columns, rows = read_texts(args.input, args.text_column, args.text_pair_column)
    taken = sorted(set(COLUMNS.values()) & set(columns))
    if taken:
        raise ValueError(f"input: its columns {taken} would be overwritten by the predictions; rename them.")
    tokenizer = load_tokenizer(args.model_dir, "model_dir")
    texts = [str(row[args.text_column]) for row in rows]
    pairs = None if args.text_pair_column is None else [str(row[args.text_pair_column]) for row in rows]
    if args.runtime == "onnxruntime":
        model = OnnxBerxitModel(args.model_dir, quantized=args.quantized)
    else:
        model = BerxitForSequenceClassification.from_pretrained(args.model_dir).eval()
        if torch.cuda.is_available():
            model.cuda()
    settings = dict(rule=args.rule, threshold=args.threshold, patience=args.patience, window=args.window)
    predictions = predict(
        model, tokenizer, texts, text_pairs=pairs, batch_size=args.batch_size, max_length=args.max_length, **settings
    )
    table = [
        {**row, **{column: answer[key] for key, column in COLUMNS.items()}}
        for row, answer in zip(rows, predictions, strict=True)
    ]
    header = columns + list(COLUMNS.values())
    if Path(args.output).suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([cell_text(row.get(column)) for column in header] for row in table)
        text = buffer.getvalue()
    else:
        text = "".join(json_text(row) + "\n" for row in table)
    write_text_atomic(args.output, text, replace=args.overwrite)
    layers = sum(row["exit_layer"] for row in predictions) / len(predictions)
    print(
        f"{len(predictions)} predictions written to {args.output} (average exit layer {layers:.2f} of "
        f"{model.config.num_hidden_layers})."
    )


if __name__ == "__main__":
    main(sys.argv[1:])
