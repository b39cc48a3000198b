"""The benchmark script runs and reports coherent figures (it measures speed; this test never judges it)."""

import json

import torch

from berxit.benchmarking.thresholds import driven_thresholds
from berxit.modeling_berxit.exit_rules import CertaintyRule, replay_exits
from berxit.scripts import benchmark


def test_driven_thresholds_place_exits_where_asked():
    certainties = torch.rand(100, 12, generator=torch.Generator().manual_seed(0))
    for saving in (0.25, 0.5, 0.75):
        thresholds = driven_thresholds(certainties, saving)
        rule = CertaintyRule(thresholds)
        layers, _ = replay_exits(rule, torch.zeros(100, 12, 2), certainties)
        assert abs(layers.float().mean().item() - 12 * (1 - saving)) < 0.05
        assert len(set(layers.tolist())) == 5  # spread over five layers, so the batch really shrinks


def test_benchmark_smoke(tmp_path):
    benchmark.main(
        [
            "--output_dir", str(tmp_path), "--models", "checkpoint", "--batch_sizes", "1,4",
            "--sequence_lengths", "16", "--examples", "8", "--repeats", "1", "--train_steps", "0",
        ]
    )  # fmt: skip
    report = json.loads((tmp_path / "benchmark.json").read_text())
    (run,) = report["runs"]
    variants = {row["variant"] for row in run["rows"]}
    assert variants == {"plain", "no_exit", "exit_25", "exit_50", "exit_75"}
    for row in run["rows"]:
        assert row["median_s"] > 0 and 1 <= row["avg_exit_layer"] <= 6
        assert abs(row["realised_over_ideal"] - row["realised_speedup"] / row["ideal_speedup"]) < 1e-9
    no_exit = [row for row in run["rows"] if row["variant"] == "no_exit"]
    assert all(row["avg_exit_layer"] == 6 for row in no_exit)
    assert run["padded_batch_32"]["speedup"] > 0 and 0 < run["padded_batch_32"]["real_token_share"] <= 1
    assert (tmp_path / "benchmark.md").read_text().startswith("# Batched early exit")
