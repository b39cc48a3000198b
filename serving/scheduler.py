"""Early exit over many inputs at full batches of similar length: a queue of examples waits at each layer, every
layer call takes a full batch from one queue, and the input refills the queues as examples leave.

`early_exit_forward` shrinks one batch as its examples exit, so its later layers run on a few rows; over a whole
dataset there is always more work waiting, so here every call runs a full batch. Each example keeps only its real
tokens between layers and batches are padded afresh from whoever is taken, so a call costs its longest row: the
input is read a window of rows at a time and sorted by length, and every later layer takes rows of similar length
from its queue (those around its oldest row's length, so none waits for ever). The exit rule's per-example state
travels with each row, so every answer equals `early_exit_forward` on that example alone.

The queues are the same whatever runs the layers: a runtime hands the scheduler its `RowSteps` (PyTorch's in
`modeling_berxit.row_steps`, ONNX Runtime's from `OnnxBerxitModel.row_steps()`), and this module imports neither
torch nor onnxruntime.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ..exit_rules.rules import make_exit_rule


class RowSteps(Protocol):
    """What a runtime does for the scheduler, on its own arrays (torch tensors or numpy arrays)."""

    config: Any  # what the exit rules read: num_hidden_layers, the operating point, is_regression
    tensors: str  # what the tokenizer should return for it: "pt" or "np"
    max_length: int | None  # the longest input it embeds (None: any)

    def embed_rows(self, batch: dict) -> list:
        """Each example of an input batch as its real tokens, `(length, hidden)`, in batch order."""

    def run_rows(self, layer: int, rows: list) -> tuple[list, Any, Any]:
        """Layer `layer` on `rows` (padded together for the call): each row's output tokens `(length, hidden)`, and
        the exit's logits `(rows, labels)` and certainties `(rows,)`."""

    def stack(self, values: list) -> Any:
        """One array from rows of equal shape."""

    def answer(self, logits: list, exit_layers: list[int], certainties: list) -> Any:
        """The answers in input order as the runtime's early-exit output."""

    def numpy(self, out) -> tuple:
        """That output's logits, exit layers and certainties as numpy arrays (for `serving.answers.answer_rows`)."""


@dataclass
class Waiting:
    """One example between layers."""

    index: Any  # its place in the input (the server's: its request and place there)
    hidden_states: Any  # (length, hidden): its real tokens only
    rule_state: dict[str, Any] = field(default_factory=dict)  # its row of the exit rule's state
    arrived: float = 0.0  # when it joined the first layer (the server's clock; unused on a file)


class LayerQueueScheduler:
    """Runs `model` over batches of encoded inputs with full layer calls of rows of similar length.

    Args:
        model: a BERxiT model in eval mode (`BerxitModel` or `BerxitForSequenceClassification`), or an ONNX export
            served by `berxit.onnx_runtime.runner.OnnxBerxitModel`.
        batch_size: rows per layer call.
        rule, threshold, patience: as `early_exit_forward` takes them (defaults: the config's operating point).
        window: how many rows are read ahead and sorted by length before the first layer takes them (default 8
            batches). Memory grows with it, not with the input.
    """

    def __init__(
        self,
        model,
        batch_size: int = 32,
        *,
        rule: str | None = None,
        threshold: float | list[float] | None = None,
        patience: int | None = None,
        window: int | None = None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a whole number >= 1, got {batch_size!r}.")
        window = 8 * batch_size if window is None else window
        if isinstance(window, bool) or not isinstance(window, int) or window < batch_size:
            raise ValueError(f"window: expected a whole number >= batch_size ({batch_size}), got {window!r}.")
        if hasattr(model, "row_steps"):
            self.steps: RowSteps = model.row_steps()
        else:
            from ..modeling_berxit.row_steps import TorchRowSteps

            self.steps = TorchRowSteps(model)
        self.batch_size = batch_size
        self.window = window
        self.exit_rule = make_exit_rule(self.steps.config, rule, threshold, patience)
        self.num_layers = self.steps.config.num_hidden_layers

    def run(self, batches: Iterable[dict], progress=None):
        """Every example of `batches` (dicts of `input_ids`/`inputs_embeds`, `attention_mask`, `token_type_ids`,
        padded on either side), answered in input order: `BerxitEarlyExitOutput` on PyTorch, `OnnxEarlyExitOutput`
        on ONNX Runtime. `progress`, if given, is updated by each finished example (a tqdm bar)."""
        answers: dict[int, tuple[Any, int, Any]] = {}
        for index, answer in self.answers(batches):
            answers[index] = answer
            if progress is not None:
                progress.update(1)
        if not answers:
            raise ValueError("batches: no examples to answer.")
        order = sorted(answers)
        return self.steps.answer(*([answers[index][part] for index in order] for part in range(3)))

    def answers(self, batches: Iterable[dict]) -> Iterator[tuple[int, tuple[Any, int, Any]]]:
        """Each example's answer as soon as it exits: `(index in the input, (logits, exit layer, certainty))`, in
        the order they finish."""
        queues: list[list[Waiting]] = [[] for _ in range(self.num_layers)]
        inputs, exhausted, count, ascending = iter(batches), False, 0, True
        while True:
            if not exhausted and len(queues[0]) < self.batch_size:
                # The next window of input, sorted by length (up and down by turns, so that lengths run on across
                # windows): the first layer takes it in that order, and the rows that go on arrive at the next
                # layers in it.
                while not exhausted and len(queues[0]) < self.window:
                    batch = next(inputs, None)
                    if batch is None:
                        exhausted = True
                        continue
                    rows = self.steps.embed_rows(batch)
                    queues[0].extend(Waiting(count + row, tokens) for row, tokens in enumerate(rows))
                    count += len(rows)
                queues[0].sort(key=lambda item: len(item.hidden_states), reverse=not ascending)
                ascending = not ascending
            waiting = [layer for layer, queue in enumerate(queues) if queue]
            if not waiting:
                return
            full = [layer for layer in waiting if len(queues[layer]) >= self.batch_size]
            # The deepest full queue first (its examples are closest to done), else the longest (once input runs out).
            layer = max(full) if full else max(waiting, key=lambda k: (len(queues[k]), k))
            if layer == 0:
                taken, queues[0][: self.batch_size] = queues[0][: self.batch_size], []
            else:
                taken = self.take(queues[layer])
            yield from self.step(layer, taken, queues)

    def take(self, queue: list[Waiting], around: int = 0) -> list[Waiting]:
        """Removes and returns up to `batch_size` rows of `queue` that pad least together, among the runs of rows
        next to each other in length that hold the row at position `around` (the oldest: the first)."""
        size = self.batch_size
        if len(queue) <= size:
            taken = queue[:]
            queue.clear()
            return taken
        order = sorted(range(len(queue)), key=lambda position: len(queue[position].hidden_states))
        lengths = [len(queue[position].hidden_states) for position in order]
        sums = [0, *itertools.accumulate(lengths)]
        oldest = order.index(around)
        starts = range(max(0, oldest - size + 1), min(oldest, len(queue) - size) + 1)
        start = min(starts, key=lambda s: size * lengths[s + size - 1] - (sums[s + size] - sums[s]))  # padding
        chosen = set(order[start : start + size])
        taken = [item for position, item in enumerate(queue) if position in chosen]
        queue[:] = [item for position, item in enumerate(queue) if position not in chosen]
        return taken

    def step(self, layer: int, taken: list[Waiting], queues: list[list[Waiting]]):
        """Runs `layer` on `taken`; yields the answers of those who exit, queues the rest at the next layer."""
        rows, logits, certainty = self.steps.run_rows(layer, [item.hidden_states for item in taken])
        states = [item.rule_state for item in taken]
        self.exit_rule.load_row_state({key: self.steps.stack([state[key] for state in states]) for key in states[0]})
        stops = self.exit_rule.decide(layer, logits, certainty).tolist()  # everyone at the last layer
        state = self.exit_rule.row_state()
        for row, (item, stop) in enumerate(zip(taken, stops, strict=True)):
            if stop:
                yield item.index, (logits[row], layer + 1, certainty[row])
            else:
                kept = {key: value[row] for key, value in state.items()}
                queues[layer + 1].append(replace(item, hidden_states=rows[row], rule_state=kept))
