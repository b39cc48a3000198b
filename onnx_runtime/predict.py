"""Predictions for many texts on ONNX Runtime: tokenized a batch at a time (numpy), each batch answered by dynamic
early exit, returned in input order as `berxit.serving.predict.predict` returns them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from transformers.utils.logging import tqdm

from ..exit_rules.exit_rules import make_exit_rule
from ..serving.answers import answer_rows, checked_texts, encoded_batches, input_length
from .runner import OnnxBerxitModel

ANSWER_FIELDS = ("logits", "exit_layers", "certainties")


def predict_onnx(
    served: OnnxBerxitModel,
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
    """One dict per text: `label`, `score`, `exit_layer` and `certainty` (see `berxit.serving.predict.predict`).

    The exit rule defaults to the export's operating point; `rule`, `threshold` and `patience` override it."""
    texts, text_pairs = checked_texts(texts, text_pairs)
    make_exit_rule(served.config, rule, threshold, patience)  # a bad setting fails before any work
    max_length = input_length(tokenizer, max_length, served.manifest.get("max_length"))
    answers = []
    with tqdm(total=len(texts), desc="Predicting", unit="text", disable=not show_progress) as progress:
        for batch in encoded_batches(tokenizer, texts, text_pairs, batch_size, max_length, "np"):
            ids, mask, types = (batch.get(name) for name in ("input_ids", "attention_mask", "token_type_ids"))
            answers.append(served.early_exit(ids, mask, types, rule, threshold, patience))
            progress.update(len(answers[-1].exit_layers))
    joined = {name: np.concatenate([getattr(answer, name) for answer in answers]) for name in ANSWER_FIELDS}
    return answer_rows(joined["logits"], joined["exit_layers"], joined["certainties"], served.config)
