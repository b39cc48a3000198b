"""berxit-benchmark: how much faster batched early exit really is (a benchmark, not a test).

    berxit-benchmark --model_dir runs/rotten_tomatoes --output_dir docs/benchmark

Models: the given fine-tuned checkpoint (default: the packaged MiniLM with fresh exits), and a base-sized random
model (12 layers, hidden 768) of any backbone family (`--backbone`), whose exits are driven to chosen layers by
per-layer thresholds. Inputs are
Rotten Tomatoes reviews packed into exactly `sequence_length` tokens (no padding), plus one padded set that shows
what trimming padding buys. Also measured: seconds per training step of alternating fine-tuning against plain
fine-tuning of the same backbone. What is timed and how: `berxit.lab.benchmarking`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import torch

from ...artifacts.atomic_files import check_writable
from ...backbones.registry import SUPPORTED_BACKBONES
from ...scripts.arguments import command, parse_arguments
from ..benchmarking.batched_run import DTYPES, run_benchmark


@dataclass
class BenchmarkArguments:
    output_dir: str = field(default="docs/benchmark", metadata={"help": "Where benchmark.{json,md} go."})
    model_dir: str | None = field(
        default=None, metadata={"help": "A fine-tuned berxit checkpoint (default: packaged MiniLM, fresh exits)."}
    )
    models: str = field(
        default="checkpoint,random",
        metadata={"help": "Comma-separated: checkpoint, random (a base-sized random model of --backbone)."},
    )
    backbone: str = field(
        default="bert",
        metadata={"help": "Backbone family of the random model: " + ", ".join(SUPPORTED_BACKBONES) + "."},
    )
    batch_sizes: str = field(default="1,8,32,128", metadata={"help": "Comma-separated batch sizes."})
    sequence_lengths: str = field(default="64,128", metadata={"help": "Comma-separated sequence lengths."})
    examples: int = field(default=128, metadata={"help": "Examples per timed run (at least each batch size)."})
    repeats: int = field(default=3, metadata={"help": "Timed runs of each variant; medians are reported."})
    train_steps: int = field(default=20, metadata={"help": "Steps per training-cost run (0 skips it)."})
    threads: int | None = field(default=None, metadata={"help": "torch threads (default: torch's choice)."})
    device: str = field(default="cpu", metadata={"help": "Where the models run.", "choices": ["cpu", "cuda"]})
    dtype: str = field(default="fp32", metadata={"help": "Weights' precision.", "choices": list(DTYPES)})
    runtime: str = field(
        default="pytorch",
        metadata={
            "help": "'onnxruntime' adds the ONNX Runtime variants (ort_plain, ort_no_exit, ort_exit_25/50/75, and "
            "the same with ort_int8_) beside PyTorch's, interleaved; CPU and fp32 only.",
            "choices": ["pytorch", "onnxruntime"],
        },
    )

    def __post_init__(self):
        self.batch_size_list = positive_ints(self.batch_sizes, "batch_sizes")
        self.sequence_length_list = positive_ints(self.sequence_lengths, "sequence_lengths")
        self.model_list = self.models.split(",")
        unknown = set(self.model_list) - {"checkpoint", "random"}
        if unknown:
            raise ValueError(f"models: expected 'checkpoint' and/or 'random', got {sorted(unknown)}.")
        if self.backbone not in SUPPORTED_BACKBONES:
            raise ValueError(f"backbone: expected one of {SUPPORTED_BACKBONES}, got {self.backbone!r}.")
        if self.examples < max(self.batch_size_list):
            raise ValueError(f"examples: needs at least the largest batch size ({max(self.batch_size_list)}).")
        if self.repeats < 1:
            raise ValueError(f"repeats: expected at least 1, got {self.repeats}.")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' asked for, and torch sees no CUDA device here.")
        if self.runtime not in ("pytorch", "onnxruntime"):
            raise ValueError(f"runtime: expected 'pytorch' or 'onnxruntime', got {self.runtime!r}.")
        if self.runtime == "onnxruntime" and (self.device, self.dtype) != ("cpu", "fp32"):
            raise ValueError(
                "runtime: the ONNX Runtime variants run on the CPU in fp32; pass --device cpu --dtype fp32."
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype: expected one of {list(DTYPES)}, got {self.dtype!r}.")


def positive_ints(text: str, argument: str) -> list[int]:
    """A comma-separated list of whole numbers >= 1, or an error naming `argument`."""
    values = [value.strip() for value in text.split(",")]
    if not all(value.isdigit() and int(value) >= 1 for value in values):
        raise ValueError(f"{argument}: expected comma-separated whole numbers >= 1, got {text!r}.")
    return [int(value) for value in values]


@command("berxit-benchmark")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(BenchmarkArguments, argv, "berxit-benchmark")
    run_benchmark(args, check_writable(args.output_dir, "output_dir"), print)


if __name__ == "__main__":
    main(sys.argv[1:])
