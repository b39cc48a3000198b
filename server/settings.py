"""What a `berxit-serve` server allows and how it batches: one value the command line builds and the app reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    """Limits and batching of one server (the defaults are `berxit-serve`'s).

    Args:
        max_batch_size: rows per layer call.
        max_batch_delay_ms: how long an input may be passed over for fuller batches (`server.engine`'s policy).
        max_queue: inputs waiting in the engine at most; past it requests get 429 with `Retry-After`.
        max_input_length: tokens per input at most (None: the model's limit); longer ones are refused unless the
            request asks to truncate.
        max_inputs_per_request: inputs in one request at most.
        api_key: if set, every request but `GET /health` needs `Authorization: Bearer <api_key>`.
        rule, threshold, patience: the exit rule (default: the model's certified operating point; `rule="none"`
            serves the plain model, every input through every layer).
    """

    max_batch_size: int = 32
    max_batch_delay_ms: float = 20.0
    max_queue: int = 1024
    max_input_length: int | None = None
    max_inputs_per_request: int = 32
    api_key: str | None = None
    rule: str | None = None
    threshold: float | None = None
    patience: int | None = None

    def __post_init__(self):
        for name in ("max_batch_size", "max_queue", "max_inputs_per_request"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a whole number >= 1, got {value!r}.")
        if self.max_queue < self.max_batch_size:
            raise ValueError(
                f"max_queue: expected at least max_batch_size ({self.max_batch_size}), got {self.max_queue}."
            )
        if self.max_inputs_per_request > self.max_queue:
            raise ValueError(
                f"max_inputs_per_request: expected at most max_queue ({self.max_queue}), got "
                f"{self.max_inputs_per_request}."
            )
        if self.max_batch_delay_ms < 0:
            raise ValueError(f"max_batch_delay_ms: expected a delay >= 0, got {self.max_batch_delay_ms}.")
        if self.max_input_length is not None and self.max_input_length < 2:
            raise ValueError(f"max_input_length: expected at least 2 tokens, got {self.max_input_length}.")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key: expected a non-empty key.")
