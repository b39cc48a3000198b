"""How fast an export serves its own test split on the machine at hand: the family's plain classifier running every
layer (eager PyTorch, ONNX Runtime, ONNX Runtime int8) against berxit at its operating points (the layer-queue
scheduler on PyTorch, on the fp32 graphs and on the int8 graphs, each at the point chosen for it). Every variant
answers the same pre-tokenized batches (padded per batch, as a server pads them); runs are interleaved and the
median of the repeats is reported, with each variant's metric on the split (for the plain classifier only where it
pools as the exits do: with the same weights it then answers as the final exit; otherwise its speed is the bar and
its answers are not this model's)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers.utils.logging import tqdm

from ..evaluation.metrics import task_metrics
from ..modeling_berxit import BerxitForSequenceClassification
from ..onnx_runtime.runner import ONNX_INT8_FOLDER, OnnxBerxitModel, open_session
from ..serving import LayerQueueScheduler
from ..serving.answers import encoded_batches
from .models import plain_twin
from .onnx_variants import export_plain


def serving_speed(
    export_dir: Path,
    tokenizer,
    texts: list[str],
    text_pairs: list[str] | None,
    labels: list,
    metric: str,
    max_length: int,
    batch_size: int = 32,
    repeats: int = 3,
    threads: int | None = None,
) -> list[dict]:
    """One row per variant: `examples_per_s`, `speedup` over eager PyTorch, `avg_exit_layer` and the `metric`
    (None for the plain classifier where it pools otherwise than the exits)."""
    model = BerxitForSequenceClassification.from_pretrained(export_dir).eval()
    twin = plain_twin(model)
    batches = list(encoded_batches(tokenizer, texts, text_pairs, batch_size, max_length, "pt"))
    names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in batches[0]]
    numpy_batches = [{name: batch[name].numpy() for name in names} for batch in batches]
    num_layers = model.config.num_hidden_layers
    int8 = (export_dir / ONNX_INT8_FOLDER).is_dir()
    pooled_alike = model.config.exit_pooling == getattr(twin.config, "classifier_pooling", "cls")
    with tempfile.TemporaryDirectory(prefix="berxit-serving-speed-") as scratch:  # sessions keep what they load
        export_plain(twin, names, Path(scratch))
        files = ("plain.onnx", "plain_int8.onnx") if int8 else ("plain.onnx",)
        plain = {name: open_session(Path(scratch) / name, threads) for name in files}

    def plain_session(file: str):
        session = plain[file]
        return lambda: (np.concatenate([session.run(None, batch)[0] for batch in numpy_batches]), None)

    def scheduled(served, inputs):
        def call():
            scheduler = LayerQueueScheduler(served, batch_size)
            logits, exit_layers, _ = scheduler.steps.numpy(scheduler.run(inputs))
            return logits, exit_layers

        return call

    def eager():
        with torch.no_grad():
            return torch.cat([twin(**batch).logits for batch in batches]).numpy(), None

    calls = {
        "PyTorch, every layer": eager,
        "ONNX Runtime, every layer": plain_session("plain.onnx"),
        "berxit on PyTorch": scheduled(model, batches),
        "berxit on ONNX Runtime": scheduled(OnnxBerxitModel(export_dir, threads=threads), numpy_batches),
    }
    if int8:
        calls["ONNX Runtime int8, every layer"] = plain_session("plain_int8.onnx")
        served = OnnxBerxitModel(export_dir, threads=threads, quantized=True)
        calls["berxit on ONNX Runtime int8"] = scheduled(served, numpy_batches)
    times = {variant: [] for variant in calls}
    answers = {}
    for _ in tqdm(range(repeats), desc="Timing repeats", unit="repeat"):
        for variant, call in calls.items():
            start = time.perf_counter()
            answers[variant] = call()
            times[variant].append(time.perf_counter() - start)
    gold = torch.as_tensor(labels)
    reference = statistics.median(times["PyTorch, every layer"])
    rows = []
    for variant in calls:
        logits, exit_layers = answers[variant]
        median = statistics.median(times[variant])
        answered = exit_layers is not None or pooled_alike  # a plain classifier pooling otherwise: speed only
        rows.append(
            {
                "variant": variant,
                "examples_per_s": len(texts) / median,
                "speedup": reference / median,
                "avg_exit_layer": float(num_layers if exit_layers is None else exit_layers.mean()),
                metric: task_metrics(torch.from_numpy(logits), gold, model.config.is_regression)[metric]
                if answered
                else None,
            }
        )
    return rows
