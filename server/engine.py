"""Continuous layer batching: one thread owns the runtime and the layer queues; requests' inputs join the first
layer as they arrive and each leaves, answered, at the layer where it exits.

The queues and the layer steps are the file scheduler's (`serving.scheduler.LayerQueueScheduler`), so every answer
equals `early_exit_forward` on that input alone. What differs is when a layer runs, since input keeps arriving:

1. a row that arrived `max_batch_delay_ms` ago or more is never passed over: the deepest queue holding such a row
   runs first (it takes the rows of similar length around the longest-waiting one);
2. otherwise the deepest full queue runs (a full batch of the rows closest to done);
3. otherwise the deepest queue that holds anything: the engine never idles while an input waits, so a lone request
   runs straight through its layers and under load batches fill by themselves while a layer runs.

An input waits for a fuller batch at most `max_batch_delay_ms` (plus the layer call running when it comes due).
The engine holds at most `max_queue` inputs: `submit` refuses more (the server answers 429).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..serving.scheduler import LayerQueueScheduler, Waiting
from .settings import ServerSettings

logger = logging.getLogger(__name__)


@dataclass
class Answer:
    """One input's early-exit answer."""

    logits: np.ndarray  # (labels,)
    exit_layer: int  # 1-based
    certainty: float


class EngineFull(Exception):
    """The engine holds `max_queue` inputs already."""


class EngineStopped(Exception):
    """The engine is stopping and takes no new input."""


@dataclass(eq=False)
class Ticket:
    """One request's inputs in the engine: `deliver(row, answer)` is called from the engine's thread as each input
    exits (`answer` an `Answer`, or the exception that failed its layer call)."""

    rows: int
    deliver: Callable[[int, Answer | Exception], None]
    arrived: float = field(default_factory=time.monotonic)
    cancelled: bool = False


@dataclass
class EngineStats:
    """What the engine did, for `/metrics` (read without a lock: a snapshot that may lag by a call)."""

    layer_calls: list[int]  # per layer
    rows_run: list[int]  # per layer: rows its calls took (their mean fill is rows_run / layer_calls / batch size)
    exits: list[int]  # per layer: inputs answered there


class LayerBatchingEngine:
    """Serves `model` (a BERxiT model in eval mode or an `OnnxBerxitModel`) to many concurrent requests, batching
    and exiting as `settings` say (`max_batch_size`, `max_batch_delay_ms`, `max_queue`, the rule)."""

    def __init__(self, model, settings: ServerSettings):
        self.scheduler = LayerQueueScheduler(
            model,
            settings.max_batch_size,
            rule=settings.rule,
            threshold=settings.threshold,
            patience=settings.patience,
            window=settings.max_batch_size,
        )
        self.steps = self.scheduler.steps
        self.config = self.steps.config
        self.max_batch_size = settings.max_batch_size
        self.max_delay = settings.max_batch_delay_ms / 1000
        self.max_queue = settings.max_queue
        layers = self.config.num_hidden_layers
        self.stats = EngineStats(layer_calls=[0] * layers, rows_run=[0] * layers, exits=[0] * layers)
        self._queues: list[list[Waiting]] = [[] for _ in range(layers)]
        self._arrivals: list[tuple[Ticket, dict]] = []
        self._held = 0  # inputs admitted and neither answered nor dropped
        self._cancelled = False
        self._stopping = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="berxit-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Takes no more input, answers what it holds, then ends its thread."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def held(self) -> int:
        return self._held

    def submit(self, batch: dict, ticket: Ticket) -> None:
        """Queues a request's encoded inputs (`batch`: the tokenizer's padded output for `ticket.rows` inputs, as the
        runtime's arrays); raises `EngineFull` or `EngineStopped` instead of holding more."""
        with self._wake:
            if self._stopping:
                raise EngineStopped("the server is shutting down.")
            if self._held + ticket.rows > self.max_queue:
                raise EngineFull(f"{self._held} inputs are queued (at most {self.max_queue}).")
            self._held += ticket.rows
            self._arrivals.append((ticket, batch))
            self._wake.notify()

    def cancel(self, ticket: Ticket) -> None:
        """Drops the request's inputs that are still waiting (its client went away)."""
        with self._wake:
            ticket.cancelled = True
            self._cancelled = True
            self._wake.notify()

    def _serve(self) -> None:
        queues = self._queues
        while True:
            with self._wake:
                while not (self._arrivals or self._cancelled or self._stopping or any(queues)):
                    self._wake.wait()
                arrivals, self._arrivals = self._arrivals, []
                if self._cancelled:
                    self._cancelled = False
                    self._drop_cancelled(queues, arrivals)
                if self._stopping and not arrivals and not any(queues):
                    return
            for ticket, batch in arrivals:
                self._join(ticket, batch)
            if any(queues):
                self._run_one_call(queues)

    def _drop_cancelled(self, queues: list[list[Waiting]], arrivals: list[tuple[Ticket, dict]]) -> None:
        """Removes the cancelled requests' inputs (called holding the lock)."""
        dropped = sum(ticket.rows for ticket, _ in arrivals if ticket.cancelled)
        arrivals[:] = [(ticket, batch) for ticket, batch in arrivals if not ticket.cancelled]
        for queue in queues:
            kept = [item for item in queue if not item.index[0].cancelled]
            dropped += len(queue) - len(kept)
            queue[:] = kept
        self._held -= dropped

    def _join(self, ticket: Ticket, batch: dict) -> None:
        try:
            rows = self.steps.embed_rows(batch)
        except Exception as error:  # noqa: BLE001 (the request fails, the engine serves on)
            logger.exception("Embedding a request's inputs failed.")
            self._finish([((ticket, row), error) for row in range(ticket.rows)])
            return
        self._queues[0].extend(
            Waiting((ticket, row), tokens, arrived=ticket.arrived) for row, tokens in enumerate(rows)
        )

    def _choose(self, queues: list[list[Waiting]]) -> tuple[int, int]:
        """The layer to run next and the position of the row its call forms around (the policy above)."""
        due = time.monotonic() - self.max_delay
        for layer in reversed(range(len(queues))):
            queue = queues[layer]
            if queue:
                oldest = min(range(len(queue)), key=lambda position: queue[position].arrived)
                if queue[oldest].arrived <= due:
                    return layer, oldest
        full = [layer for layer, queue in enumerate(queues) if len(queue) >= self.max_batch_size]
        if full:
            return max(full), 0
        return max(layer for layer, queue in enumerate(queues) if queue), 0

    def _run_one_call(self, queues: list[list[Waiting]]) -> None:
        layer, around = self._choose(queues)
        taken = self.scheduler.take(queues[layer], around)
        self.stats.layer_calls[layer] += 1
        self.stats.rows_run[layer] += len(taken)
        try:
            done = list(self.scheduler.step(layer, taken, queues))
        except Exception as error:  # noqa: BLE001 (those inputs fail, the engine serves on)
            logger.exception(f"Layer {layer + 1} failed on {len(taken)} inputs.")
            self._finish([(item.index, error) for item in taken])
            return
        if done:
            logits, layers, certainties = (list(part) for part in zip(*(answer for _, answer in done), strict=True))
            logits, layers, certainties = self.steps.numpy(self.steps.answer(logits, layers, certainties))
            self.stats.exits[layer] += len(done)
            self._finish(
                [
                    (index, Answer(logits[row], int(layers[row]), float(certainties[row])))
                    for row, (index, _) in enumerate(done)
                ]
            )

    def _finish(self, answered: list[tuple[tuple[Ticket, int], Answer | Exception]]) -> None:
        with self._wake:
            self._held -= len(answered)
        for (ticket, row), answer in answered:
            if not ticket.cancelled:
                ticket.deliver(row, answer)
