"""A benchmark run: for each model and sequence length, thresholds placed, every variant timed, results written as
JSON after each step and as markdown at the end.

In one process, with every variant's runs interleaved (repeat -> batch size -> variant) and medians reported:
  (a) `plain`: the family's own `...ForSequenceClassification` with the same weights (the final exit);
  (b) `no_exit`: `early_exit_forward` with a threshold nobody meets, the cost of our machinery;
  (c) `exit_25` / `exit_50` / `exit_75`: `early_exit_forward` at thresholds that save about 25/50/75% of layers;
  (d) `scheduler_50`: the layer-queue scheduler over all the examples at `exit_50`'s threshold, every layer call
      a full batch of the row's size;
  (e) with `--runtime onnxruntime`, the same on ONNX Runtime (`ort_plain`, `ort_no_exit`, `ort_exit_*`,
      `ort_scheduler_50`) and on its int8 model (`ort_int8_...`).
At batch size 1, (c) is the one-example-at-a-time loop that earlier implementations run. `--device` and `--dtype`
move every model (and the inputs) there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import AutoTokenizer
from transformers.utils import logging
from transformers.utils.logging import tqdm

from ...artifacts.atomic_files import write_text_atomic
from ...data import packaged_backbone_dir, rotten_tomatoes
from ...reporting.tables import markdown_table
from .models import load_models, packed_inputs, plain_twin
from .onnx_variants import onnx_calls
from .report import render
from .thresholds import driven_thresholds, record_certainties, scalar_threshold
from .timing import SAVINGS, measure, padding_gain, training_cost

logger = logging.get_logger(f"transformers.{__name__}")

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def run_benchmark(args, output_dir: Path, say: Callable[[str], None] = logger.info) -> dict:
    """Runs the benchmark `args` (`berxit-benchmark`'s arguments) describes; writes benchmark.{json,md}. `say`
    hears each table as it is measured (the command prints it)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir or packaged_backbone_dir())
    texts = rotten_tomatoes().splits["test"]["text"]
    report = {"arguments": {k: v for k, v in asdict(args).items() if not k.endswith("_list")}, "runs": []}
    report["torch_threads"] = torch.get_num_threads()
    report["device"] = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    for name, model in load_models(args).items():
        twin = plain_twin(model).to(args.device, DTYPES[args.dtype])
        model.to(args.device, DTYPES[args.dtype])
        for length in tqdm(args.sequence_length_list, desc=f"Benchmarking {name}", unit="length"):
            inputs = {
                key: value.to(args.device)
                for key, value in packed_inputs(tokenizer, texts, args.examples, length).items()
            }
            reference = record_certainties(model, inputs)
            choose = scalar_threshold if name == "checkpoint" else driven_thresholds
            thresholds = {variant: choose(reference, saving) for variant, saving in SAVINGS.items()}
            twin_pooling = getattr(twin.config, "classifier_pooling", "cls")
            if model.config.exit_pooling == twin_pooling:  # pooled alike: with the same weights, the same logits
                with torch.no_grad():
                    first = {key: value[:8] for key, value in inputs.items()}
                    tolerance = 1e-4 if args.dtype == "fp32" else 5e-2
                    torch.testing.assert_close(
                        twin(**first).logits, model(**first, early_exit=False).logits, atol=tolerance, rtol=tolerance
                    )
            extra = onnx_calls(model, twin, thresholds, args.threads, inputs) if args.runtime == "onnxruntime" else None
            rows = measure(model, twin, inputs, thresholds, args, extra)
            run = {"model": name, "sequence_length": length, "thresholds": thresholds, "rows": rows}
            if name == "checkpoint":
                run["padded_batch_32"] = padding_gain(model, twin, tokenizer, texts, length, args)
            report["runs"].append(run)
            say(f"\n{name}, {length} tokens\n" + markdown_table(rows))
            write_text_atomic(output_dir / "benchmark.json", json.dumps(report, indent=2))
    if args.train_steps:
        report["training"] = training_cost(args, tokenizer)
        say(f"\ntraining: {report['training']}")
    write_text_atomic(output_dir / "benchmark.json", json.dumps(report, indent=2))
    write_text_atomic(output_dir / "benchmark.md", render(report))
    return report
