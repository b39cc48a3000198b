"""How fast an export serves its own test split on the machine at hand: the family's plain classifier running every
layer (eager PyTorch, ONNX Runtime, ONNX Runtime int8) against berxit at its operating points (the layer-queue
scheduler on PyTorch, on the fp32 graphs and on the int8 graphs, each at the point chosen for it).

The plain classifier answers the split in file order (pre-tokenized batches padded per batch, as a server pads
them) and, the bar a careful user sets, sorted by length before batching (each batch then pads little); berxit
answers the file-order batches and groups lengths itself (the scheduler's window). Runs are interleaved and the
median of the repeats is reported, with each variant's speed-up over eager PyTorch and over the same runtime's
sorted plain model, and its metric on the split (for the plain classifier only where it pools as the exits do: with
the same weights it then answers as the final exit; otherwise its speed is the bar and its answers are not this
model's)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers.utils.logging import tqdm

from ...evaluation.metrics import task_metrics
from ...modeling_berxit import BerxitForSequenceClassification
from ...onnx_runtime.runner import ONNX_INT8_FOLDER, OnnxBerxitModel, open_session
from ...serving import LayerQueueScheduler
from ...serving.answers import encoded_batches
from .models import plain_twin
from .onnx_variants import export_plain


def serving_speed(
    export_dir: Path,
    tokenizer,
    texts: list[str],
    *,
    text_pairs: list[str] | None,
    labels: list,
    metric: str,
    max_length: int,
    batch_size: int = 32,
    repeats: int = 3,
    threads: int | None = None,
) -> list[dict]:
    """One row per variant: `examples_per_s`, `speedup` over eager PyTorch in file order,
    `speedup_over_sorted_plain` (over the same runtime's plain model fed length-sorted batches), `avg_exit_layer`
    and the `metric` (None for the plain classifier where it pools otherwise than the exits)."""
    model = BerxitForSequenceClassification.from_pretrained(export_dir).eval()
    twin = plain_twin(model)
    batches = list(encoded_batches(tokenizer, texts, text_pairs, batch_size, max_length, "pt"))
    lengths = [int(length) for batch in batches for length in batch["attention_mask"].sum(-1)]
    by_length = sorted(range(len(texts)), key=lengths.__getitem__)
    sorted_batches = list(
        encoded_batches(
            tokenizer,
            [texts[index] for index in by_length],
            None if text_pairs is None else [text_pairs[index] for index in by_length],
            batch_size,
            max_length,
            "pt",
        )
    )
    restore = np.argsort(by_length)  # sorted answers -> file order
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in batches[0]]
    numpy_batches = [{name: batch[name].numpy() for name in names} for batch in batches]
    numpy_sorted = [{name: batch[name].numpy() for name in names} for batch in sorted_batches]
    num_layers = model.config.num_hidden_layers
    int8 = (export_dir / ONNX_INT8_FOLDER).is_dir()
    pooled_alike = model.config.exit_pooling == getattr(twin.config, "classifier_pooling", "cls")
    with tempfile.TemporaryDirectory(prefix="berxit-serving-speed-") as scratch:  # sessions keep what they load
        export_plain(twin, names, Path(scratch))
        files = ("plain.onnx", "plain_int8.onnx") if int8 else ("plain.onnx",)
        plain = {name: open_session(Path(scratch) / name, threads) for name in files}

    def plain_session(file: str, inputs: list[dict], order=None):
        session = plain[file]

        def call():
            logits = np.concatenate([session.run(None, batch)[0] for batch in inputs])
            return (logits if order is None else logits[order]), None

        return call

    def scheduled(served, inputs):
        def call():
            scheduler = LayerQueueScheduler(served, batch_size)
            logits, exit_layers, _ = scheduler.steps.numpy(scheduler.run(inputs))
            return logits, exit_layers

        return call

    def eager(inputs: list[dict], order=None):
        def call():
            with torch.no_grad():
                logits = torch.cat([twin(**batch).logits for batch in inputs]).numpy()
            return (logits if order is None else logits[order]), None

        return call

    # variant -> (its runtime, what it runs)
    calls = {
        "PyTorch, every layer": ("PyTorch", eager(batches)),
        "PyTorch, every layer, sorted by length": ("PyTorch", eager(sorted_batches, restore)),
        "ONNX Runtime, every layer": ("ONNX Runtime", plain_session("plain.onnx", numpy_batches)),
        "ONNX Runtime, every layer, sorted by length": (
            "ONNX Runtime",
            plain_session("plain.onnx", numpy_sorted, restore),
        ),
        "berxit on PyTorch": ("PyTorch", scheduled(model, batches)),
        "berxit on ONNX Runtime": (
            "ONNX Runtime",
            scheduled(OnnxBerxitModel(export_dir, threads=threads), numpy_batches),
        ),
    }
    if int8:
        served = OnnxBerxitModel(export_dir, threads=threads, quantized=True)
        calls["ONNX Runtime int8, every layer"] = ("ONNX Runtime int8", plain_session("plain_int8.onnx", numpy_batches))
        calls["ONNX Runtime int8, every layer, sorted by length"] = (
            "ONNX Runtime int8",
            plain_session("plain_int8.onnx", numpy_sorted, restore),
        )
        calls["berxit on ONNX Runtime int8"] = ("ONNX Runtime int8", scheduled(served, numpy_batches))
    times = {variant: [] for variant in calls}
    answers = {}
    for _ in tqdm(range(repeats), desc="Timing repeats", unit="repeat"):
        for variant, (_, call) in calls.items():
            start = time.perf_counter()
            answers[variant] = call()
            times[variant].append(time.perf_counter() - start)
    gold = torch.as_tensor(labels)
    medians = {variant: statistics.median(times[variant]) for variant in calls}
    rows = []
    for variant, (runtime, _) in calls.items():
        logits, exit_layers = answers[variant]
        answered = exit_layers is not None or pooled_alike  # a plain classifier pooling otherwise: speed only
        rows.append(
            {
                "variant": variant,
                "examples_per_s": len(texts) / medians[variant],
                "speedup": medians["PyTorch, every layer"] / medians[variant],
                "speedup_over_sorted_plain": medians[f"{runtime}, every layer, sorted by length"] / medians[variant],
                "avg_exit_layer": float(num_layers if exit_layers is None else exit_layers.mean()),
                metric: task_metrics(torch.from_numpy(logits), gold, model.config.is_regression)[metric]
                if answered
                else None,
            }
        )
    return rows
