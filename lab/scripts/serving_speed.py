"""berxit-serving-speed: how fast an export serves its run's test split here, against the plain model run every layer.

    berxit-serving-speed --model_dir runs/rt --export_dir runs/rt-export [--batch_size 32] [--threads 2]

Examples per second (and each variant's metric) for the family's plain classifier on eager PyTorch, on ONNX Runtime
and on ONNX Runtime int8, every layer; and berxit's layer-queue scheduler on PyTorch, on the export's ONNX graphs
and on its int8 graphs, each at its own operating point. Needs an export made with `--onnx` (and `--quantize int8`
for the int8 rows). Writes `serving_speed.{md,json}` into `--output_dir` (default `<model_dir>/serving_speed`).
What is timed and how: `berxit.lab.benchmarking.export_speed`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...artifacts.atomic_files import check_writable, write_text_atomic
from ...data.tokenizer import load_tokenizer
from ...onnx_runtime.runner import MANIFEST, ONNX_FOLDER
from ...reporting.tables import markdown_table
from ...scripts.arguments import command, parse_arguments, run_data
from ..benchmarking.export_speed import serving_speed


@dataclass
class ServingSpeedArguments:
    model_dir: str = field(metadata={"help": "The run the export was made from (its data names the test split)."})
    export_dir: str = field(metadata={"help": "Its export, made with berxit-export --onnx [--quantize int8]."})
    output_dir: str | None = field(default=None, metadata={"help": "Default: <model_dir>/serving_speed."})
    batch_size: int = field(default=32, metadata={"help": "Examples per batch, and rows per layer call."})
    repeats: int = field(default=3, metadata={"help": "Timed runs of each variant, interleaved; medians reported."})
    threads: int | None = field(
        default=None, metadata={"help": "Threads of torch and of every ONNX Runtime session (default: theirs)."}
    )

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size: expected a number of examples >= 1, got {self.batch_size}.")
        if self.repeats < 1:
            raise ValueError(f"repeats: expected at least 1, got {self.repeats}.")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads: expected at least 1, got {self.threads}.")
        if not (Path(self.export_dir) / ONNX_FOLDER / MANIFEST).is_file():
            raise ValueError(
                f"export_dir: {self.export_dir} holds no ONNX graphs; export with berxit-export --onnx "
                "[--quantize int8]."
            )


@command("berxit-serving-speed")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ServingSpeedArguments, argv, "berxit-serving-speed")
    model_dir, export_dir = Path(args.model_dir), Path(args.export_dir)
    output_dir = check_writable(args.output_dir or model_dir / "serving_speed", "output_dir")
    _, data_args, task = run_data(model_dir)
    if args.threads:
        torch.set_num_threads(args.threads)
    test = task.splits["test"]
    pairs = test["text_pair"] if "text_pair" in test.column_names else None
    tokenizer = load_tokenizer(export_dir, "export_dir")
    rows = serving_speed(
        export_dir,
        tokenizer,
        test["text"],
        text_pairs=pairs,
        labels=test["label"],
        metric=task.metric,
        max_length=data_args.max_length,
        batch_size=args.batch_size,
        repeats=args.repeats,
        threads=args.threads,
    )
    table = (
        f"# Serving the {task.name} test split ({len(test)} examples, batch {args.batch_size}, "
        f"{torch.get_num_threads()} torch threads)\n\n{markdown_table(rows)}"
    )
    write_text_atomic(output_dir / "serving_speed.json", json.dumps({"arguments": vars(args), "rows": rows}, indent=2))
    write_text_atomic(output_dir / "serving_speed.md", table)
    print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
