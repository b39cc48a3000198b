"""Timed runs: every variant interleaved (repeat -> batch size -> variant), medians reported; the padding that
trimming saves; and the training cost of alternating against plain fine-tuning."""

from __future__ import annotations

import statistics
import tempfile
import time

import torch
from transformers import (
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)
from transformers.utils.logging import tqdm

from ...data import packaged_backbone_dir, rotten_tomatoes, tokenize
from ...evaluation.metrics import depth_metrics
from ...modeling_berxit import BerxitForSequenceClassification
from ...serving import LayerQueueScheduler
from ...trainer import BerxitTrainer, BerxitTrainingArguments

SAVINGS = {"exit_25": 0.25, "exit_50": 0.50, "exit_75": 0.75}
# The layer-queue scheduler over every input at once, at the threshold of this saving variant.
SCHEDULED = {"scheduler_50": "exit_50"}


def batches(inputs: dict[str, torch.Tensor], batch_size: int) -> list[dict[str, torch.Tensor]]:
    return [
        {name: value[i : i + batch_size] for name, value in inputs.items()}
        for i in range(0, len(inputs["input_ids"]), batch_size)
    ]


def timed_run(call, inputs, batch_size: int, whole: bool = False) -> tuple[float, list]:
    """Runs `call` over `inputs` in batches (or, `whole`, on the list of all batches at once); returns the wall
    time, waiting for the GPU to finish where there is one, and the outputs."""
    start = time.perf_counter()
    with torch.no_grad():
        split = batches(inputs, batch_size)
        outputs = [call(split)] if whole else [call(batch) for batch in split]
    if inputs["input_ids"].is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, outputs


def measure(model, twin, inputs, thresholds: dict[str, object], args, extra_calls: dict | None = None) -> list[dict]:
    """Interleaved timed runs of every variant at every batch size; one row per batch size and variant.

    `extra_calls` (e.g. the ONNX Runtime variants) join the interleaving; a variant's realised speed-up is against
    the plain model of its own runtime (`ort_plain`, `ort_int8_plain`, else `plain`)."""
    num_layers = model.config.num_hidden_layers

    def early_exit(threshold):
        return lambda batch: model.early_exit_forward(**batch, threshold=threshold).exit_layers

    def scheduled(threshold):
        def run(split):
            return LayerQueueScheduler(model, len(split[0]["input_ids"]), threshold=threshold).run(split).exit_layers

        return run

    calls = {"plain": lambda batch: twin(**batch).logits, "no_exit": early_exit(1.0)}
    calls.update({variant: early_exit(threshold) for variant, threshold in thresholds.items()})
    calls.update({variant: scheduled(thresholds[saving]) for variant, saving in SCHEDULED.items()})
    calls.update(extra_calls or {})
    times = {(batch_size, variant): [] for batch_size in args.batch_size_list for variant in calls}
    exit_layers = {"plain": torch.full((len(inputs["input_ids"]),), num_layers)}
    for _ in tqdm(range(args.repeats), desc="Timing repeats", unit="repeat"):
        for batch_size in args.batch_size_list:
            for variant, call in calls.items():
                seconds, outputs = timed_run(call, inputs, batch_size, whole=is_scheduled(variant))
                times[(batch_size, variant)].append(seconds)
                if variant != "plain":
                    exit_layers[variant] = torch.cat(outputs).cpu()
    rows = []
    for batch_size in args.batch_size_list:
        for variant in calls:
            plain = statistics.median(times[(batch_size, plain_of(variant))])
            median = statistics.median(times[(batch_size, variant)])
            depth = depth_metrics(exit_layers[variant], num_layers)
            ideal = depth["ideal_speedup"]
            rows.append(
                {
                    "batch_size": batch_size,
                    "variant": variant,
                    "median_s": median,
                    "examples_per_s": len(inputs["input_ids"]) / median,
                    "avg_exit_layer": depth["avg_exit_layer"],
                    "realised_speedup": plain / median,
                    "ideal_speedup": ideal,
                    "realised_over_ideal": plain / median / ideal,
                }
            )
    return rows


def is_scheduled(variant: str) -> bool:
    """Whether a variant is a layer-queue scheduler over every batch at once (on either runtime)."""
    return variant.removeprefix("ort_int8_").removeprefix("ort_") in SCHEDULED


def plain_of(variant: str) -> str:
    """The plain model a variant is measured against: the same runtime's."""
    for prefix in ("ort_int8_", "ort_"):
        if variant.startswith(prefix):
            return f"{prefix}plain"
    return "plain"


def padding_gain(model, twin, tokenizer, texts: list[str], length: int, args) -> dict:
    """Real reviews padded to `length`, batch 32: plain runs the padding, `no_exit` trims it away."""
    encoded = tokenizer(texts[: args.examples], padding="max_length", truncation=True, max_length=length)
    inputs = {name: torch.tensor(encoded[name], device=model.device) for name in ("input_ids", "attention_mask")}
    calls = {
        "plain": lambda batch: twin(**batch).logits,
        "no_exit": lambda batch: model.early_exit_forward(**batch, threshold=1.0).logits,
    }
    times = {variant: [] for variant in calls}
    for _ in range(args.repeats):
        for variant, call in calls.items():
            times[variant].append(timed_run(call, inputs, 32)[0])
    plain, trimmed = statistics.median(times["plain"]), statistics.median(times["no_exit"])
    real_tokens = inputs["attention_mask"].sum().item() / inputs["attention_mask"].numel()
    return {"plain_s": plain, "no_exit_trimmed_s": trimmed, "speedup": plain / trimmed, "real_token_share": real_tokens}


def training_cost(args, tokenizer) -> dict:
    """Seconds per optimizer step: alternating fine-tuning against plain fine-tuning of the same backbone."""
    data = rotten_tomatoes().splits
    train = tokenize(data.__class__({"train": data["train"].select(range(16 * args.train_steps))}), tokenizer, 64)
    common = dict(
        per_device_train_batch_size=16,
        max_steps=args.train_steps,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
        seed=42,
        use_cpu=True,
        dataloader_pin_memory=False,
    )
    seconds = {"plain": [], "alternating": []}
    scratch = tempfile.TemporaryDirectory()  # the Trainer's output_dir; nothing is saved there
    for _ in range(args.repeats):
        for kind in seconds:
            if kind == "plain":
                model = BertForSequenceClassification.from_pretrained(packaged_backbone_dir(), num_labels=2)
                trainer_cls, training_args = Trainer, TrainingArguments(output_dir=scratch.name, **common)
            else:
                model = BerxitForSequenceClassification.from_pretrained_backbone(packaged_backbone_dir(), num_labels=2)
                trainer_cls, training_args = (
                    BerxitTrainer,
                    BerxitTrainingArguments(output_dir=scratch.name, **common),
                )
            trainer = trainer_cls(
                model=model,
                args=training_args,
                train_dataset=train["train"],
                data_collator=DataCollatorWithPadding(tokenizer),
            )
            output = trainer.train()
            seconds[kind].append(output.metrics["train_runtime"] / args.train_steps)
    scratch.cleanup()
    plain, alternating = statistics.median(seconds["plain"]), statistics.median(seconds["alternating"])
    return {"plain_s_per_step": plain, "alternating_s_per_step": alternating, "ratio": alternating / plain}
