"""The benchmark script runs and reports coherent figures (it measures speed; this test never judges it)."""

import json

import pytest
import torch
from tiny_models import FAMILIES, padded_batch, tiny_model

from berxit import BerxitForSequenceClassification
from berxit.exit_rules.rules import CertaintyRule, replay_exits
from berxit.lab.benchmarking.models import plain_twin
from berxit.lab.benchmarking.thresholds import driven_thresholds
from berxit.lab.scripts import benchmark


def test_driven_thresholds_place_exits_where_asked():
    certainties = torch.rand(100, 12, generator=torch.Generator().manual_seed(0))
    for saving in (0.25, 0.5, 0.75):
        thresholds = driven_thresholds(certainties, saving)
        rule = CertaintyRule(thresholds, 12)
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
    assert variants == {"plain", "no_exit", "exit_25", "exit_50", "exit_75", "scheduler_50"}
    for row in run["rows"]:
        assert row["median_s"] > 0 and 1 <= row["avg_exit_layer"] <= 6
        assert abs(row["realised_over_ideal"] - row["realised_speedup"] / row["ideal_speedup"]) < 1e-9
    no_exit = [row for row in run["rows"] if row["variant"] == "no_exit"]
    assert all(row["avg_exit_layer"] == 6 for row in no_exit)
    assert run["padded_batch_32"]["speedup"] > 0 and 0 < run["padded_batch_32"]["real_token_share"] <= 1
    assert (tmp_path / "benchmark.md").read_text().startswith("# Batched early exit")


def test_benchmark_adds_the_onnx_runtime_variants(tmp_path):
    benchmark.main(
        [
            "--output_dir", str(tmp_path), "--models", "checkpoint", "--batch_sizes", "2",
            "--sequence_lengths", "16", "--examples", "4", "--repeats", "1", "--train_steps", "0",
            "--runtime", "onnxruntime", "--threads", "1",
        ]
    )  # fmt: skip
    (run,) = json.loads((tmp_path / "benchmark.json").read_text())["runs"]
    rows = {row["variant"]: row for row in run["rows"]}
    for runtime in ("ort", "ort_int8"):
        names = ("plain", "no_exit", "exit_25", "exit_50", "exit_75", "scheduler_50")
        assert {f"{runtime}_{name}" for name in names} <= set(rows)
        assert rows[f"{runtime}_plain"]["realised_speedup"] == 1.0  # each against its own runtime's plain model
        assert rows[f"{runtime}_no_exit"]["avg_exit_layer"] == 6
    # The same thresholds on the same certainties: ONNX Runtime fp32 exits where PyTorch does.
    assert rows["ort_exit_50"]["avg_exit_layer"] == rows["exit_50"]["avg_exit_layer"]
    assert rows["ort_scheduler_50"]["avg_exit_layer"] == rows["scheduler_50"]["avg_exit_layer"]


@pytest.mark.parametrize("family", FAMILIES)
def test_plain_twin_is_the_family_classifier_with_our_final_exit(family):
    model = tiny_model(family, cls=BerxitForSequenceClassification)
    twin = plain_twin(model)
    assert type(twin).__name__.endswith("ForSequenceClassification") and "Berxit" not in type(twin).__name__
    input_ids, attention_mask = padded_batch(model, [7, 3, 5])
    with torch.no_grad():
        expected = model(input_ids, attention_mask=attention_mask).exit_logits[:, -1]
        torch.testing.assert_close(twin(input_ids, attention_mask=attention_mask).logits, expected)


def test_random_model_of_another_family(tmp_path):
    benchmark.main(
        [
            "--output_dir", str(tmp_path), "--models", "random", "--backbone", "distilbert", "--batch_sizes", "2",
            "--sequence_lengths", "16", "--examples", "4", "--repeats", "1", "--train_steps", "0", "--dtype", "bf16",
        ]
    )  # fmt: skip
    (run,) = json.loads((tmp_path / "benchmark.json").read_text())["runs"]
    assert run["model"] == "distilbert-base"
    assert {row["avg_exit_layer"] for row in run["rows"] if row["variant"] == "no_exit"} == {12}
    scheduled = next(row for row in run["rows"] if row["variant"] == "scheduler_50")
    exit_50 = next(row for row in run["rows"] if row["variant"] == "exit_50")
    assert scheduled["avg_exit_layer"] == exit_50["avg_exit_layer"]  # the same threshold, the same exits
    assert (tmp_path / "benchmark.md").read_text().splitlines()[2].startswith("device: cpu, bf16;")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_cuda_without_a_gpu_is_refused_by_name(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--device", "cuda"])
    assert "device: 'cuda' asked for, and torch sees no CUDA device here." in capsys.readouterr().err
