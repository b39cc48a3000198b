"""Predictions for many texts at once: tokenized a batch at a time, answered by the layer-queue scheduler, returned
in input order with each example's label, score, exit layer and certainty."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from transformers.utils.logging import tqdm

from .scheduler import LayerQueueScheduler


def predict(
    model,
    tokenizer,
    texts: Iterable[str],
    text_pairs: Iterable[str] | None = None,
    batch_size: int = 32,
    max_length: int | None = None,
    rule: str | None = None,
    threshold: float | list[float] | None = None,
    patience: int | None = None,
    show_progress: bool = True,
) -> list[dict]:
    """One dict per text: `label` (the class name; for regression the predicted value), `score` (the class's
    probability; None for regression), `exit_layer` (1-based) and `certainty`.

    The exit rule defaults to the model's saved operating point; `rule`, `threshold` and `patience` override it
    as in `early_exit_forward`."""
    if isinstance(texts, str):
        raise ValueError("texts: expected a list of texts, got one string; pass [text].")
    texts = list(texts)  # any iterable: a generator too
    if not texts:
        raise ValueError("texts: expected at least one text, got none.")
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise ValueError("texts: expected a list of non-empty strings.")
    if text_pairs is not None:
        text_pairs = list(text_pairs)
    if text_pairs is not None and len(text_pairs) != len(texts):
        raise ValueError(f"text_pairs: expected one per text ({len(texts)}), got {len(text_pairs)}.")
    scheduler = LayerQueueScheduler(model, batch_size, rule=rule, threshold=threshold, patience=patience)
    if max_length is None:  # the tokenizer's limit, within what the backbone can embed
        limit = model.base_model.adapter.max_sequence_length(model.config.backbone_config)
        max_length = tokenizer.model_max_length if limit is None else min(tokenizer.model_max_length, limit)
    with tqdm(total=len(texts), desc="Predicting", unit="text", disable=not show_progress) as progress:
        out = scheduler.run(_encoded(tokenizer, texts, text_pairs, batch_size, max_length), progress)
    config = model.config
    rows = []
    for logits, layer, certainty in zip(out.logits.float(), out.exit_layers, out.certainties, strict=True):
        if config.is_regression:
            label, score = float(logits[0]), None
        else:
            probabilities = logits.softmax(-1)  # (labels,)
            best = int(probabilities.argmax())
            label, score = config.id2label.get(best, str(best)), float(probabilities[best])
        rows.append({"label": label, "score": score, "exit_layer": int(layer), "certainty": float(certainty)})
    return rows


def _encoded(
    tokenizer, texts, text_pairs, batch_size: int, max_length: int | None
) -> Iterator[dict[str, torch.Tensor]]:
    for start in range(0, len(texts), batch_size):
        pairs = None if text_pairs is None else list(text_pairs[start : start + batch_size])
        yield tokenizer(
            list(texts[start : start + batch_size]),
            pairs,
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
