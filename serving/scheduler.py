"""Early exit over many inputs at full batches: a queue of examples waits at each layer, every layer call takes a
full batch from one queue, and the input refills the queues as examples leave.

`early_exit_forward` shrinks one batch as its examples exit, so its later layers run on a few rows; over a whole
dataset there is always more work waiting, so here every call runs a full batch. Each example keeps only its real
tokens between layers (batches are padded afresh from whoever is queued), and the exit rule's per-example state
travels with it, so every answer equals `early_exit_forward` on that example alone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch.nn.utils.rnn import pad_sequence

from ..exit_rules.exit_rules import make_exit_rule
from ..modeling_berxit.outputs import BerxitEarlyExitOutput


@dataclass
class Waiting:
    """One example between layers."""

    index: int  # its place in the input
    hidden_states: torch.Tensor  # (length, hidden): its real tokens only
    rule_state: dict[str, torch.Tensor] = field(default_factory=dict)  # its row of the exit rule's state


class LayerQueueScheduler:
    """Runs `model` (a BERxiT model in eval mode) over batches of encoded inputs with full layer calls.

    Args:
        model: `BerxitModel` or `BerxitForSequenceClassification`.
        batch_size: rows per layer call.
        rule, threshold, patience: as `early_exit_forward` takes them (defaults: the config's operating point).
    """

    def __init__(
        self,
        model,
        batch_size: int = 32,
        rule: str | None = None,
        threshold: float | list[float] | None = None,
        patience: int | None = None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a whole number >= 1, got {batch_size!r}.")
        if model.training:
            raise ValueError("model: it is in training mode, where dropout makes exits random; call model.eval().")
        self.model = model.base_model
        self.batch_size = batch_size
        self.exit_rule = make_exit_rule(self.model.config, rule, threshold, patience)
        self.num_layers = self.model.config.num_hidden_layers

    @torch.no_grad()
    def run(self, batches: Iterable[dict[str, torch.Tensor]], progress=None) -> BerxitEarlyExitOutput:
        """Every example of `batches` (dicts of `input_ids`/`inputs_embeds`, `attention_mask`, `token_type_ids`,
        padded on either side), answered in input order. `progress`, if given, is updated by each finished example
        (a tqdm bar)."""
        queues = [deque() for _ in range(self.num_layers)]
        answers: dict[int, tuple[torch.Tensor, int, torch.Tensor]] = {}
        inputs, exhausted, count = iter(batches), False, 0
        while True:
            while not exhausted and all(len(queue) < self.batch_size for queue in queues):
                batch = next(inputs, None)
                if batch is None:
                    exhausted = True
                else:
                    count = self._enqueue(batch, queues[0], count)
            waiting = [layer for layer, queue in enumerate(queues) if queue]
            if not waiting:
                break
            full = [layer for layer in waiting if len(queues[layer]) >= self.batch_size]
            # The deepest full queue first (its examples are closest to done), else the longest (once input runs out).
            layer = max(full) if full else max(waiting, key=lambda k: (len(queues[k]), k))
            taken = [queues[layer].popleft() for _ in range(min(self.batch_size, len(queues[layer])))]
            finished = self._step(layer, taken, queues, answers)
            if progress is not None and finished:
                progress.update(finished)
        if not answers:
            raise ValueError("batches: no examples to answer.")
        order = sorted(answers)
        return BerxitEarlyExitOutput(
            logits=torch.stack([answers[index][0] for index in order]),
            exit_layers=torch.tensor([answers[index][1] for index in order]),
            certainties=torch.stack([answers[index][2] for index in order]),
        )

    def _enqueue(self, batch: dict[str, torch.Tensor], queue: deque, count: int) -> int:
        """Embeds one input batch and queues each example's real tokens at layer 0; returns the new count."""
        names = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
        unknown = set(batch) - set(names) - {"labels"}
        if unknown:
            raise ValueError(f"batches: unexpected inputs {sorted(unknown)}; expected some of {names}.")
        device = self.model.device
        arguments = [None if batch.get(name) is None else torch.as_tensor(batch[name]).to(device) for name in names]
        # (batch, length, hidden), (batch, length); positions restart at 0 once each row keeps only its real tokens
        hidden_states, attention_mask, _ = self.model.embed_inputs(*arguments)
        for row in range(len(hidden_states)):
            real = attention_mask[row].bool()  # (length,): one run of real tokens, padded on either side
            queue.append(Waiting(count + row, hidden_states[row, real]))
        return count + len(hidden_states)

    def _step(self, layer: int, taken: list[Waiting], queues: list[deque], answers: dict) -> int:
        """Runs `layer` on `taken`; answers those who exit, queues the rest at the next layer. Returns how many
        finished."""
        lengths = torch.tensor([len(item.hidden_states) for item in taken])
        hidden_states = pad_sequence([item.hidden_states for item in taken], batch_first=True)  # (rows, length, hidden)
        columns = torch.arange(hidden_states.shape[1])
        attention_mask = (columns[None] < lengths[:, None]).long().to(hidden_states.device)  # (rows, length)
        context = self.model.layer_context(hidden_states, attention_mask, None)
        hidden_states, logits, certainty = self.model.run_layer(layer, hidden_states, attention_mask, context)
        rows_state = [item.rule_state for item in taken]
        self.exit_rule.load_row_state({key: torch.stack([row[key] for row in rows_state]) for key in rows_state[0]})
        stops = self.exit_rule.decide(layer, logits, certainty).tolist()  # everyone at the last layer
        state = self.exit_rule.row_state()
        for row, (item, stop) in enumerate(zip(taken, stops, strict=True)):
            if stop:
                answers[item.index] = (logits[row], layer + 1, certainty[row])
            else:
                kept = hidden_states[row, : lengths[row]]  # (length, hidden)
                queues[layer + 1].append(Waiting(item.index, kept, {key: value[row] for key, value in state.items()}))
        return sum(stops)
