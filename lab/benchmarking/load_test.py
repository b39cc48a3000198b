"""Load on a server over loopback: one request at a time (latency), a closed loop of clients (capacity), and
open-loop Poisson arrivals at a given rate (latency and rejections under load), each bounded in requests and time.

Latency is measured from when a request was due to be sent, not when a client got round to it, so that a loaded
generator does not hide the server's queueing (no coordinated omission). Each request is one text of the split.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import requests

_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


@dataclass
class Sent:
    """One request: when it was due, how long until its answer, its status."""

    due: float
    latency_s: float
    status: int  # 0: no answer (connection failed)


@dataclass
class LoadStep:
    """One load level on one server."""

    server: str
    offered_per_s: float  # the arrival rate asked for (0: one at a time or a closed loop)
    sent: int
    answered_per_s: float  # 200s per second over the step
    p50_ms: float
    p90_ms: float
    p99_ms: float
    rejected: int  # 429s
    errors: int  # anything else that is not a 200
    seconds: float


def post(url: str, text: str, due: float) -> Sent:
    try:
        status = _session().post(f"{url}/predict", json={"inputs": text, "truncate": True}, timeout=60).status_code
    except requests.RequestException:
        status = 0
    return Sent(due, time.perf_counter() - due, status)


def summarise(server: str, offered: float, sent: list[Sent], seconds: float) -> LoadStep:
    answered = [item.latency_s * 1000 for item in sent if item.status == 200]
    p50, p90, p99 = np.percentile(answered, [50, 90, 99]) if answered else (float("nan"),) * 3
    return LoadStep(
        server=server,
        offered_per_s=offered,
        sent=len(sent),
        answered_per_s=len(answered) / seconds,
        p50_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        rejected=sum(item.status == 429 for item in sent),
        errors=sum(item.status not in (200, 429) for item in sent),
        seconds=seconds,
    )


def one_at_a_time(server: str, url: str, texts: list[str], count: int) -> LoadStep:
    """`count` requests, each sent when the one before is answered."""
    started = time.perf_counter()
    sent = [post(url, texts[k % len(texts)], time.perf_counter()) for k in range(count)]
    return summarise(server, 0.0, sent, time.perf_counter() - started)


def closed_loop(server: str, url: str, texts: list[str], *, clients: int, seconds: float) -> LoadStep:
    """`clients` clients sending back to back for `seconds`: the rate the server keeps up at most."""
    stop = time.perf_counter() + seconds
    started = time.perf_counter()

    def client(offset: int) -> list[Sent]:
        sent, k = [], offset
        while time.perf_counter() < stop:
            sent.append(post(url, texts[k % len(texts)], time.perf_counter()))
            k += clients
        return sent

    with ThreadPoolExecutor(clients) as pool:
        sent = [item for part in pool.map(client, range(clients)) for item in part]
    return summarise(server, 0.0, sent, time.perf_counter() - started)


def open_loop(
    server: str, url: str, texts: list[str], *, rate: float, seconds: float, max_requests: int, seed: int = 0
) -> LoadStep:
    """Poisson arrivals at `rate` per second for `seconds` (at most `max_requests`), each sent on time by a pool
    large enough for the step."""
    generator = random.Random(seed)
    gaps = [generator.expovariate(rate) for _ in range(max_requests)]
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < seconds]
    started = time.perf_counter()
    futures = []
    with ThreadPoolExecutor(256) as pool:
        for k, at in enumerate(arrivals):
            due = started + float(at)
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(post, url, texts[k % len(texts)], due))
        sent = [future.result() for future in futures]
    return summarise(server, rate, sent, max(seconds, time.perf_counter() - started))
