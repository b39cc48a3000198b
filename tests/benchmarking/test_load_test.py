"""The load benchmark's measures: arrivals on time at the rate asked, statuses counted, the highest rate held read
only from steps answered whole within the SLO."""

from berxit.lab.benchmarking.load_test import LoadStep, Sent, closed_loop, one_at_a_time, open_loop, summarise
from berxit.lab.benchmarking.server_process import berxit_serve
from berxit.lab.scripts.loadtest import held


def step(rate, p99, rejected=0, errors=0):
    return LoadStep("x", rate, 10, rate, 1.0, 2.0, p99, rejected, errors, 1.0)


def test_held_is_the_highest_rate_answered_whole_within_the_slo():
    steps = [step(10, 20), step(20, 90), step(30, 80, rejected=1), step(40, 150), step(50, 60, errors=2)]
    assert held(steps, 100) == 20
    assert held([step(10, 200)], 100) == 0.0


def test_summarise_counts_rejections_and_errors_apart():
    sent = [Sent(0, 0.01, 200), Sent(0, 0.03, 200), Sent(0, 0.5, 429), Sent(0, 0.5, 0), Sent(0, 0.5, 500)]
    summary = summarise("x", 5.0, sent, 1.0)
    assert (summary.sent, summary.rejected, summary.errors, summary.answered_per_s) == (5, 1, 2, 2.0)
    assert 10 <= summary.p50_ms <= 30


def test_the_load_reaches_a_real_server(text_model_dir):
    texts = ["a good film", "a dull and long plot"]
    with berxit_serve(text_model_dir) as server:
        single = one_at_a_time("berxit", server.url, texts, 5)
        loop = closed_loop("berxit", server.url, texts, clients=4, seconds=1.0)
        arrivals = open_loop("berxit", server.url, texts, rate=20.0, seconds=1.0, max_requests=100)
        rss, peak = server.memory_mb()
    assert single.sent == 5 and single.errors == 0 and single.p50_ms > 0
    assert loop.sent > 4 and loop.errors == 0
    assert 5 <= arrivals.sent <= 45 and arrivals.errors == 0 and arrivals.rejected == 0  # Poisson, 20/s for 1 s
    assert 0 < rss <= peak
