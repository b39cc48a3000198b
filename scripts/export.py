"""berxit-export: a Hub-ready folder of a fine-tuned, calibrated model, optionally pushed to the Hub.

    berxit-export --model_dir runs/rt --export_dir runs/rt-export [--push_to_hub --hub_model_id you/berxit-rt]

What the folder holds and how it is written: `berxit.workflows.export_run`. The push uses `huggingface_hub` with the
token from `HF_TOKEN` or `hf auth login`; if it fails, the local export stays and the error says why.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts.run_record import SWEEP
from ..onnx_runtime.runner import ONNX_INT8_FOLDER
from ..workflows.calibrate_int8 import SUMMARY
from ..workflows.export_run import export_run, push
from .arguments import command, parse_arguments, run_data


@dataclass
class ExportArguments:
    model_dir: str = field(metadata={"help": "A model fine-tuned by berxit-train and calibrated by berxit-sweep."})
    export_dir: str = field(metadata={"help": "The folder to write."})
    sweep_dir: str | None = field(
        default=None, metadata={"help": "berxit-sweep's output (default: <model_dir>/sweep)."}
    )
    overwrite: bool = field(
        default=False,
        metadata={"help": "Replace an earlier export in export_dir (nothing else is ever replaced)."},
    )
    license: str = field(
        default="apache-2.0",
        metadata={
            "help": "The model card's license (a Hub license id); the packaged MiniLM and berxit are apache-2.0."
        },
    )
    language: str = field(default="en", metadata={"help": "The model card's language (ISO 639-1) of the texts."})
    onnx: bool = field(
        default=False,
        metadata={
            "help": "Also write ONNX graphs of every layer step into <export_dir>/onnx, checked against PyTorch, to "
            "serve early exit on ONNX Runtime (berxit.onnx_runtime)."
        },
    )
    quantize: str | None = field(
        default=None,
        metadata={
            "help": "With --onnx, also write an int8 copy of the graphs into <export_dir>/onnx_int8 (ONNX Runtime's "
            "dynamic quantisation of the backbone's matrix products), with its own operating point chosen on the "
            "run's validation split by the sweep's rule and promise (onnx_int8/operating_point.json, summary.md).",
            "choices": ["int8"],
        },
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Push the folder to the Hub as --hub_model_id."})
    hub_model_id: str | None = field(default=None, metadata={"help": "The Hub repository, e.g. you/berxit-rt."})

    def __post_init__(self):
        if self.quantize not in (None, "int8"):
            raise ValueError(f"quantize: expected 'int8', got {self.quantize!r}.")
        if self.quantize and not self.onnx:
            raise ValueError("quantize: int8 graphs are made from the ONNX export; pass --onnx too.")
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("hub_model_id: --push_to_hub needs the repository to push to, e.g. you/berxit-rt.")


@command("berxit-export")
def main(argv: list[str] | None = None) -> None:
    (args,) = parse_arguments(ExportArguments, argv, "berxit-export")
    model_dir, export_dir = Path(args.model_dir), Path(args.export_dir)
    sweep_dir = Path(args.sweep_dir) if args.sweep_dir else model_dir / SWEEP
    repo = args.hub_model_id or export_dir.name
    task, max_length = None, None
    if args.quantize:  # the int8 graphs choose their own operating point on the run's validation split
        _, data_args, task = run_data(model_dir)
        max_length = data_args.max_length
    export_run(
        model_dir,
        sweep_dir,
        export_dir,
        repo=repo,
        license=args.license,
        language=args.language,
        overwrite=args.overwrite,
        onnx=args.onnx,
        quantize=args.quantize,
        task=task,
        max_length=max_length,
    )
    print((sweep_dir / "summary.md").read_text())
    if args.quantize:
        print((export_dir / ONNX_INT8_FOLDER / SUMMARY).read_text())
    print(f"Curve: {export_dir / 'curve.png'}")
    print(f"Exported: {export_dir}")
    if args.push_to_hub:
        print(f"Pushed: {push(export_dir, args.hub_model_id)}")


if __name__ == "__main__":
    main(sys.argv[1:])
