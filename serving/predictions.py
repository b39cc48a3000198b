"""Predictions for many texts at once, on PyTorch or ONNX Runtime: tokenized a batch at a time, answered by the
layer-queue scheduler, returned in input order with each example's label, score, exit layer and certainty."""

from __future__ import annotations

from collections.abc import Iterable

from transformers.utils.logging import tqdm

from .answers import answer_rows, checked_texts, encoded_batches, input_length
from .scheduler import LayerQueueScheduler


def predict(
    model,
    tokenizer,
    texts: Iterable[str],
    *,
    text_pairs: Iterable[str] | None = None,
    batch_size: int = 32,
    window: int | None = None,
    max_length: int | None = None,
    rule: str | None = None,
    threshold: float | list[float] | None = None,
    patience: int | None = None,
    show_progress: bool = True,
) -> list[dict]:
    """One dict per text: `label` (the class name; for regression the predicted value), `score` (the class's
    probability; None for regression), `exit_layer` (1-based) and `certainty`.

    `model` is a BERxiT model in eval mode or an `OnnxBerxitModel` (an export served on ONNX Runtime). The exit
    rule defaults to the model's saved operating point; `rule`, `threshold` and `patience` override it as in
    `early_exit_forward`; `window` is the scheduler's (how many rows it reads ahead to batch similar lengths)."""
    texts, text_pairs = checked_texts(texts, text_pairs)
    scheduler = LayerQueueScheduler(model, batch_size, rule=rule, threshold=threshold, patience=patience, window=window)
    steps = scheduler.steps
    max_length = input_length(tokenizer, max_length, steps.max_length)
    with tqdm(total=len(texts), desc="Predicting", unit="text", disable=not show_progress) as progress:
        batches = encoded_batches(tokenizer, texts, text_pairs, batch_size, max_length, steps.tensors)
        out = scheduler.run(batches, progress)
    return answer_rows(*steps.numpy(out), steps.config)
