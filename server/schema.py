"""The request and response bodies of `berxit-serve`, as TEI's `/predict` and the Inference API's text
classification (what `huggingface_hub.InferenceClient.text_classification` posts) take and give them.

`inputs` is one text, or a list whose items are each a text, `[text]`, `[text, pair]` or `[[text, pair]]` (TEI's
shapes). Unknown fields are refused, so that a misspelt option is not silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

Item = StrictStr | list[StrictStr] | list[list[StrictStr]]
Inputs = StrictStr | list[Item]

INPUTS_HELP = "a text, or a list whose items are each a text, [text], [text, pair] or [[text, pair]]"


class PredictRequest(BaseModel):
    """TEI's `POST /predict`."""

    model_config = ConfigDict(extra="forbid")

    inputs: Inputs = Field(description=INPUTS_HELP)
    raw_scores: StrictBool = Field(False, description="Answer the exit's logits instead of probabilities.")
    truncate: StrictBool = Field(False, description="Cut inputs past the length limit instead of refusing them.")


class InferenceParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    function_to_apply: Literal["softmax", "sigmoid", "none"] | None = Field(
        None, description="How logits become scores (default: softmax; the value itself for regression)."
    )
    top_k: int | None = Field(None, ge=1, strict=True, description="Only the k best labels (default: all).")
    truncation: StrictBool = Field(False, description="Cut inputs past the length limit instead of refusing them.")


class InferenceRequest(BaseModel):
    """The Inference API's text classification (`POST /`)."""

    model_config = ConfigDict(extra="forbid")

    inputs: Inputs = Field(description=INPUTS_HELP)
    parameters: InferenceParameters = Field(default_factory=InferenceParameters)


class LabelScore(BaseModel):
    """One label of one input's answer, best first; `exit_layer` and `certainty` are berxit's (TEI clients ignore
    them)."""

    label: str
    score: float
    exit_layer: int
    certainty: float


class ErrorBody(BaseModel):
    """TEI's error body: one line naming the field, and the kind of error."""

    error: str
    error_type: str


class InputError(ValueError):
    """A request the server refuses: `status` (4xx) and one line naming the field."""

    def __init__(self, status: int, message: str, error_type: str = "validation"):
        super().__init__(message)
        self.status, self.error_type = status, error_type


@dataclass(frozen=True)
class Texts:
    """A request's inputs, unpacked: the texts and their pairs (None: no pairs)."""

    texts: list[str]
    pairs: list[str] | None
    batched: bool  # the request sent a list (answered with a list per input)


def unpack_inputs(inputs: Inputs, max_inputs: int) -> Texts:
    """The texts of `inputs`; raises `InputError` naming the item that is not a text, [text], [text, pair] or
    [[text, pair]], an empty text, more than `max_inputs` inputs, or texts and pairs mixed."""
    if isinstance(inputs, str):
        items, batched = [inputs], False
    else:
        items, batched = inputs, True
    if not items:
        raise InputError(422, "inputs: expected at least one input, got an empty list.")
    if len(items) > max_inputs:
        raise InputError(413, f"inputs: expected at most {max_inputs} inputs in one request, got {len(items)}.")
    texts, pairs = [], []
    for position, item in enumerate(items):
        name = f"inputs[{position}]" if batched else "inputs"
        if isinstance(item, list) and len(item) == 1 and isinstance(item[0], list):
            item = item[0]
        if isinstance(item, str):
            item = [item]
        if len(item) not in (1, 2) or not all(isinstance(text, str) for text in item):
            raise InputError(422, f"{name}: expected a text, [text], [text, pair] or [[text, pair]].")
        if not all(text.strip() for text in item):
            raise InputError(422, f"{name}: expected non-empty text, got an empty string.")
        texts.append(item[0])
        pairs.append(item[1] if len(item) == 2 else None)
    if all(pair is None for pair in pairs):
        return Texts(texts, None, batched)
    if any(pair is None for pair in pairs):
        raise InputError(422, "inputs: expected every input to be a text or every input a [text, pair]; got both.")
    return Texts(texts, pairs, batched)
