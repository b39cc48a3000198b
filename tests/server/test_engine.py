"""The continuous layer-batching engine: requests submitted from many threads while others are in flight are each
answered as `early_exit_forward` on that input alone, every rule; a full engine refuses; cancelled inputs are
dropped; a stopping engine answers what it holds."""

import random
import threading

import pytest
import torch
from tiny_models import padded_batch, tiny_model

from berxit.server.engine import EngineFull, EngineStopped, LayerBatchingEngine, Ticket
from berxit.server.settings import ServerSettings
from berxit.serving.scheduler import Waiting

RULES = {"certainty": dict(threshold=0.5), "entropy": dict(threshold=0.3), "patience": dict(patience=1)}


class Collected:
    """A request's answers, as the engine delivers them."""

    def __init__(self, rows: int):
        self.answers, self.done = [None] * rows, threading.Event()

    def deliver(self, row, answer):
        self.answers[row] = answer
        if all(answer is not None for answer in self.answers):
            self.done.set()


@pytest.mark.parametrize("rule", list(RULES))
def test_concurrent_requests_are_answered_as_each_input_alone(rule):
    model = tiny_model(seed=4)
    lengths = torch.randint(1, 40, (160,), generator=torch.Generator().manual_seed(0)).tolist()
    input_ids, attention_mask = padded_batch(model, lengths)
    engine = LayerBatchingEngine(
        model, ServerSettings(max_batch_size=8, max_batch_delay_ms=1.0, rule=rule, **RULES[rule])
    )
    engine.start()
    sizes, start = [], 0
    generator = random.Random(0)
    while start < len(lengths):
        sizes.append((start, min(len(lengths), start + generator.randint(1, 6))))
        start = sizes[-1][1]
    requests = {}

    def client(chunks):
        for begin, end in chunks:
            collected = Collected(end - begin)
            batch = {"input_ids": input_ids[begin:end], "attention_mask": attention_mask[begin:end]}
            engine.submit(batch, Ticket(end - begin, collected.deliver))
            requests[begin] = collected

    threads = [threading.Thread(target=client, args=(sizes[k::8],)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for collected in requests.values():
        assert collected.done.wait(30)
    engine.stop()
    got = [answer for begin in sorted(requests) for answer in requests[begin].answers]
    layers = []
    for row, answer in enumerate(got):
        real = attention_mask[row].bool()
        alone = model.early_exit_forward(input_ids[row][real][None], rule=rule, **RULES[rule])
        assert answer.exit_layer == int(alone.exit_layers)
        torch.testing.assert_close(torch.from_numpy(answer.logits), alone.logits[0], atol=1e-5, rtol=1e-4)
        layers.append(answer.exit_layer)
    assert len(set(layers)) > 1
    assert sum(engine.stats.exits) == len(lengths) and engine.held == 0


def test_a_full_engine_refuses_and_a_stopped_one_takes_nothing():
    model = tiny_model(seed=4, exit_threshold=0.5)
    input_ids, attention_mask = padded_batch(model, [5, 7, 3, 4])
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    engine = LayerBatchingEngine(model, ServerSettings(max_batch_size=4, max_queue=4, max_inputs_per_request=4))
    collected = Collected(4)
    engine.submit(batch, Ticket(4, collected.deliver))  # not started: it waits
    with pytest.raises(EngineFull, match="4 inputs are queued"):
        engine.submit(batch, Ticket(4, Collected(4).deliver))
    engine.start()
    engine.stop()  # answers what it holds first
    assert collected.done.is_set() and engine.held == 0
    with pytest.raises(EngineStopped):
        engine.submit(batch, Ticket(4, Collected(4).deliver))


def test_cancelled_inputs_are_dropped_unanswered():
    model = tiny_model(seed=4)
    input_ids, attention_mask = padded_batch(model, [5, 7, 3, 4])
    engine = LayerBatchingEngine(model, ServerSettings(max_batch_size=4, rule="none"))
    collected = Collected(4)
    ticket = Ticket(4, collected.deliver)
    engine.submit({"input_ids": input_ids, "attention_mask": attention_mask}, ticket)
    engine.cancel(ticket)
    engine.start()
    engine.stop()
    assert collected.answers == [None] * 4 and engine.held == 0 and sum(engine.stats.rows_run) == 0


def test_a_row_past_its_delay_runs_before_full_batches():
    model = tiny_model(seed=4, exit_threshold=0.5)
    engine = LayerBatchingEngine(model, ServerSettings(max_batch_size=2, max_batch_delay_ms=10.0))
    old, new = 0.0, 1e12  # arrived long ago, and in the future (never due)
    queues = [[Waiting(("a", 0), None, arrived=new)] * 2, [], [Waiting(("b", 0), None, arrived=old)], []]
    assert engine._choose(queues) == (2, 0)  # the due row's layer, though layer 0 is full
    queues[2][0].arrived = new
    assert engine._choose(queues) == (0, 0)  # then the deepest full queue
    queues[0].pop()
    assert engine._choose(queues) == (2, 0)  # then the deepest non-empty: never idle while work waits
