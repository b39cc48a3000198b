"""berxit-predict: a BERxiT model's early-exit predictions for every text of a file (or a Hub dataset).

    berxit-predict --model_dir runs/rotten_tomatoes-export --input reviews.csv --output predictions.csv

Each row of the input comes back, in order and as written (no cell is re-typed), with `predicted_label` (the class
name; for regression, the predicted value), `score` (the class's probability), `exit_layer` and `certainty`. The
model answers at its saved operating point unless `--rule`/`--threshold`/`--patience` say otherwise; examples queue
per layer so that every layer call runs a full batch of rows of similar length (`berxit.serving.LayerQueueScheduler`).
The input is read as it goes and answered a chunk at a time, so memory does not grow with it; the output (`.csv` or
`.jsonl`) is written whole or not at all, an existing file is replaced only with `--overwrite`, and a killed run goes
on with `--resume` (`berxit.serving.file_predictions`). `torchrun --nproc_per_node N -m berxit.scripts.predict ...`
(or `accelerate launch`) shares the chunks among N processes and writes the same output (`berxit.serving.sharding`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from transformers.utils.logging import tqdm

from ..artifacts.atomic_files import check_writable, sha256_file
from ..data.tokenizer import load_tokenizer
from ..data.user_data import open_texts
from ..exit_rules.rules import EXIT_RULES
from ..serving.file_predictions import CHUNK_ROWS, COLUMNS, predict_file
from ..serving.loading import RUNTIMES, load_for_serving
from ..serving.sharding import Shards
from .arguments import command, parse_arguments

OUTPUT_SUFFIXES = (".csv", ".jsonl")


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
    resume: bool = field(
        default=False,
        metadata={
            "help": "Go on from where a killed run with the same arguments stopped (its partial output beside "
            "--output); the output is the same, byte for byte, as an uninterrupted run's."
        },
    )
    batch_size: int = field(default=32, metadata={"help": "Rows per layer call."})
    chunk_rows: int = field(
        default=CHUNK_ROWS,
        metadata={"help": "Rows answered between durable points of the output (what a killed run loses at most)."},
    )
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
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows: expected a number of rows >= 1, got {self.chunk_rows}.")
        if self.window is not None and self.window < self.batch_size:
            raise ValueError(f"window: expected a number of rows >= batch_size ({self.batch_size}), got {self.window}.")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime: expected one of {RUNTIMES}, got {self.runtime!r}.")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"max_length: expected at least 2 tokens, got {self.max_length}.")


@command("berxit-predict")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(PredictArguments, argv, "berxit-predict")
    output = Path(args.output)
    check_writable(output.parent, "output")
    rows = open_texts(args.input, args.text_column, args.text_pair_column)
    taken = sorted(set(COLUMNS.values()) & set(rows.columns))
    if taken:
        raise ValueError(f"input: its columns {taken} would be overwritten by the predictions; rename them.")
    tokenizer = load_tokenizer(args.model_dir, "model_dir")
    model = load_for_serving(args.model_dir, runtime=args.runtime, quantized=args.quantized)
    settings = dict(
        batch_size=args.batch_size,
        max_length=args.max_length,
        window=args.window,
        rule=args.rule,
        threshold=args.threshold,
        patience=args.patience,
    )
    # What the answers and their bytes depend on: a resumed run must match all of it.
    made_with = {
        "input": rows.identity,
        "model": model_identity(args.model_dir),
        "runtime": args.runtime,
        "quantized": args.quantized,
        "text_column": args.text_column,
        "text_pair_column": args.text_pair_column,
        "chunk_rows": args.chunk_rows,
        **settings,
    }
    shards = Shards.from_environment()  # several processes under torchrun / accelerate launch
    bar = tqdm(total=rows.num_rows, desc="Predicting", unit="row", dynamic_ncols=True, disable=not shards.writes)
    with bar:
        summary = predict_file(
            model,
            tokenizer,
            rows,
            columns=rows.columns,
            output=output,
            text_column=args.text_column,
            text_pair_column=args.text_pair_column,
            made_with=made_with,
            resume=args.resume,
            overwrite=args.overwrite,
            chunk_rows=args.chunk_rows,
            progress=bar.update,
            shards=shards,
            **settings,
        )
    shards.close()
    if not shards.writes:
        return
    print(
        f"{summary.rows} predictions written to {args.output} (average exit layer {summary.average_exit_layer:.2f} "
        f"of {model.config.num_hidden_layers})."
    )


def model_identity(model_dir: str) -> dict:
    """What names the model a run answered with: its folder's config and weights, by content (a Hub id by name)."""
    folder = Path(model_dir)
    if not folder.is_dir():
        return {"hub_id": model_dir}
    return {
        name: sha256_file(folder / name) for name in ("config.json", "model.safetensors") if (folder / name).is_file()
    }


if __name__ == "__main__":
    main(sys.argv[1:])
