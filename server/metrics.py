"""`GET /metrics`: the server's Prometheus metrics, in a registry of its own (so that two apps in one process do not
share counters): requests by route and status, request latency, the engine's queue, and per layer its calls, the
rows they took (batch fill) and the inputs that exited there."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .engine import LayerBatchingEngine

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class EngineCollector:
    """Reads the engine's counters when Prometheus scrapes."""

    def __init__(self, engine: LayerBatchingEngine):
        self.engine = engine

    def collect(self):
        stats, size = self.engine.stats, self.engine.max_batch_size
        queued = GaugeMetricFamily("berxit_queue_inputs", "Inputs waiting in the engine, at any layer.")
        queued.add_metric([], self.engine.held)
        calls = CounterMetricFamily("berxit_layer_calls", "Layer calls run.", labels=["layer"])
        rows = CounterMetricFamily("berxit_layer_rows", "Rows the layer calls took.", labels=["layer"])
        exits = CounterMetricFamily("berxit_exits", "Inputs answered at each layer.", labels=["layer"])
        fill = GaugeMetricFamily(
            "berxit_batch_fill_ratio", "Mean rows per layer call over max_batch_size.", labels=["layer"]
        )
        for layer, (layer_calls, layer_rows, layer_exits) in enumerate(
            zip(stats.layer_calls, stats.rows_run, stats.exits, strict=True), start=1
        ):
            calls.add_metric([str(layer)], layer_calls)
            rows.add_metric([str(layer)], layer_rows)
            exits.add_metric([str(layer)], layer_exits)
            fill.add_metric([str(layer)], layer_rows / layer_calls / size if layer_calls else 0.0)
        yield from (queued, calls, rows, exits, fill)


class ServerMetrics:
    """The registry `/metrics` renders, and the request counters the app updates."""

    def __init__(self, engine: LayerBatchingEngine):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "berxit_requests", "Requests answered, by route and status.", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "berxit_request_seconds",
            "Time from a prediction request's arrival to its answer.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(EngineCollector(engine))
