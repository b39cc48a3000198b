"""What a prediction for many texts takes and gives, whatever runs the model (PyTorch or ONNX Runtime): the texts
checked, tokenized a batch at a time, and one answer per text. numpy only, so serving on ONNX Runtime needs no torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..data.tokenizer import shortened


def checked_texts(texts: Iterable[str], text_pairs: Iterable[str] | None) -> tuple[list[str], list[str] | None]:
    """The texts (and pairs) as lists: any iterable, a generator too; an empty one or a non-text is refused."""
    if isinstance(texts, str):
        raise ValueError("texts: expected a list of texts, got one string; pass [text].")
    texts = list(texts)
    if not texts:
        raise ValueError("texts: expected at least one text, got none.")
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise ValueError("texts: expected a list of non-empty strings.")
    if text_pairs is not None:
        text_pairs = list(text_pairs)
        if len(text_pairs) != len(texts):
            raise ValueError(f"text_pairs: expected one per text ({len(texts)}), got {len(text_pairs)}.")
    return texts, text_pairs


def input_length(tokenizer, max_length: int | None, limit: int | None) -> int | None:
    """`max_length` if given, else the tokenizer's limit within what the backbone can embed (`limit`; None: any)."""
    if max_length is not None:
        return max_length
    return tokenizer.model_max_length if limit is None else min(tokenizer.model_max_length, limit)


def encoded_batches(
    tokenizer, texts: list[str], text_pairs: list[str] | None, batch_size: int, max_length: int, tensors: str
) -> Iterator[dict]:
    """The texts tokenized `batch_size` at a time, padded, as `tensors` ("pt" or "np")."""
    for start in range(0, len(texts), batch_size):
        pairs = None if text_pairs is None else text_pairs[start : start + batch_size]
        yield tokenizer(
            shortened(tokenizer, texts[start : start + batch_size], max_length),
            shortened(tokenizer, pairs, max_length),
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors=tensors,
        )


def answer_rows(logits: np.ndarray, exit_layers: np.ndarray, certainties: np.ndarray, config) -> list[dict]:
    """One dict per example: `label` (the class name; for regression the predicted value), `score` (the class's
    probability; None for regression), `exit_layer` (1-based) and `certainty`."""
    rows = []
    for row_logits, layer, certainty in zip(logits.astype(np.float32), exit_layers, certainties, strict=True):
        if config.is_regression:
            label, score = float(row_logits[0]), None
        else:
            shifted = np.exp(row_logits - row_logits.max())
            probabilities = shifted / shifted.sum()  # (labels,)
            best = int(probabilities.argmax())
            label, score = config.id2label.get(best, str(best)), float(probabilities[best])
        rows.append({"label": label, "score": score, "exit_layer": int(layer), "certainty": float(certainty)})
    return rows
