"""The operating point keeps its promise: Learn then Test on synthetic records whose true risks are known, the
p-values it rests on, the consistency risk without labels, and the random-halves check."""

import numpy as np
import pytest
import torch
from scipy.stats import binom

from berxit import BerxitConfig
from berxit.evaluation import ExitRecord, Promise, certified_settings, choose_operating_point, example_losses
from berxit.evaluation.risk_control import p_value, upper_bound
from berxit.exit_rules.rules import THRESHOLDS
from berxit.lab.analysis.promise_check import check_promise

LAYERS = 4


def config(num_labels=2):
    return BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": LAYERS}, num_labels=num_labels)


def synthetic_record(examples: int, seed: int) -> ExitRecord:
    """Two classes; the final layer is right 85% of the time; an early exit with certainty c is right with
    probability c (a calibrated head), so eager thresholds cost accuracy and safe ones do not."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (examples,), generator=generator)
    certainties = torch.rand(examples, LAYERS, generator=generator) * 0.5 + 0.5  # (examples, layers)
    right = torch.rand(examples, LAYERS, generator=generator) < certainties
    right[:, -1] = torch.rand(examples, generator=generator) < 0.85
    predictions = torch.where(right, labels[:, None], 1 - labels[:, None])  # (examples, layers)
    exit_logits = torch.nn.functional.one_hot(predictions, 2).float() * 4.0  # (examples, layers, 2)
    return ExitRecord(exit_logits, certainties, labels)


def test_binomial_p_value_and_bound_agree_with_scipy():
    losses = np.array([1.0] * 12 + [0.0] * 988)
    assert p_value(losses, 0.02) == pytest.approx(binom.cdf(12, 1000, 0.02))
    bound = upper_bound(losses, 0.1)
    assert p_value(losses, bound) <= 0.1 < p_value(losses, bound - 1e-4)
    assert p_value(losses, 0.0) == 1.0 and p_value(losses, 1.0) == 0.0
    bounded = np.full(5000, 0.005)  # losses in [0, 1], not 0/1: Hoeffding-Bentkus
    assert p_value(bounded, 0.01) < 0.1 < p_value(bounded, 0.0055)


def test_learn_then_test_keeps_the_promise_where_the_estimate_does_not():
    cfg = config()
    population = synthetic_record(50_000, seed=0)  # the truth: each setting's risk on the whole distribution
    promise = Promise("harm", epsilon=0.02, confidence=0.9)
    true_harm = {
        setting: example_losses(cfg, population, "certainty", setting, "harm").mean()
        for setting in [round(0.5 + 0.01 * i, 2) for i in range(51)]
    }
    broken = {"learn_then_test": 0, "largest_within_drop": 0}
    draws = 30
    for seed in range(1, draws + 1):
        calibration = synthetic_record(1000, seed)
        for chooser in broken:
            chosen = choose_operating_point(
                cfg, calibration, "certainty", "accuracy", Promise("harm", 0.02, 0.9, chooser)
            )
            harm = 0.0 if chosen["setting"] is None else true_harm.get(chosen["setting"], 1.0)
            broken[chooser] += harm > promise.epsilon
        assert chosen["setting"] is not None  # 1,000 examples certify something here
    assert broken["learn_then_test"] <= 0.1 * draws + 2  # within δ, give or take the 30 draws' noise
    assert broken["largest_within_drop"] > broken["learn_then_test"]


def test_fixed_sequence_stops_at_the_first_setting_it_cannot_certify():
    cfg = config()
    record = synthetic_record(1000, seed=3)
    certified = certified_settings(cfg, record, "certainty", Promise("harm", 0.02, 0.9))
    assert 0 < len(certified) < len(THRESHOLDS)
    assert certified == THRESHOLDS[::-1][: len(certified)]  # a prefix of the walk from the safest setting
    assert certified_settings(cfg, record, "certainty", Promise("harm", 0.0, 0.9)) == []  # zero harm: unprovable
    chosen = choose_operating_point(cfg, record.select(range(20)), "certainty", "accuracy", Promise("harm", 0.01))
    assert chosen["setting"] is None and chosen["certified"] is False  # too few examples to certify anything
    assert chosen["saved_layers"] == 0.0


def test_consistency_needs_no_labels_and_regression_has_its_harm():
    cfg = config()
    labelled = synthetic_record(2000, seed=4)
    unlabelled = ExitRecord(labelled.exit_logits, labelled.certainties, None)
    consistency = Promise("consistency", epsilon=0.05)
    chosen = choose_operating_point(cfg, unlabelled, "certainty", "accuracy", consistency)
    assert chosen["certified"] and chosen["bound"] <= 0.05 and "accuracy" not in chosen
    with pytest.raises(ValueError, match="risk: harm needs labelled calibration examples"):
        choose_operating_point(cfg, unlabelled, "certainty", "accuracy", Promise("harm", 0.01))

    regression = config(num_labels=1)
    labels = torch.rand(500) * 5
    exit_logits = (labels[:, None] + torch.linspace(2, 0, LAYERS)[None, :])[..., None]  # exits off by 2 .. 0
    record = ExitRecord(exit_logits, torch.linspace(0.2, 0.95, LAYERS).expand(500, LAYERS), labels)
    harm = example_losses(regression, record, "certainty", 0.5, "harm")
    spread = float(labels.max() - labels.min())
    assert harm == pytest.approx(np.full(500, 2 / 3 / spread), rel=1e-4)  # exit 3, off by 2/3, in label ranges
    assert example_losses(regression, record, "certainty", 0.95, "harm").max() == 0.0  # the last layer answers


def test_random_halves_check_reports_held_share_and_saving():
    cfg = config()
    record = synthetic_record(2000, seed=5)
    rows = check_promise(cfg, record, "accuracy", Promise("harm", 0.02, 0.9), draws=10)
    assert [(row["rule"], row["chooser"]) for row in rows] == [
        (rule, chooser)
        for rule in ("certainty", "entropy", "patience")
        for chooser in ("learn_then_test", "largest_within_drop")
    ]
    for row in rows:
        assert 0.0 <= row["held"] <= 1.0 and 0.0 <= row["saved_layers"] <= 1.0
    certainty = {row["chooser"]: row for row in rows if row["rule"] == "certainty"}
    assert certainty["learn_then_test"]["held"] >= certainty["largest_within_drop"]["held"]
    assert certainty["learn_then_test"]["saved_layers"] > 0


def test_records_round_trip_without_pickle(tmp_path):
    record = synthetic_record(50, seed=6)
    record.save(tmp_path / "record.npz")
    loaded = ExitRecord.load(tmp_path / "record.npz")
    torch.testing.assert_close(loaded.exit_logits, record.exit_logits, atol=0, rtol=0)  # replays as recorded
    torch.testing.assert_close(loaded.certainties, record.certainties, atol=0, rtol=0)
    assert loaded.labels.tolist() == record.labels.tolist()
    ExitRecord(record.exit_logits, record.certainties, None).save(tmp_path / "texts.npz")
    assert ExitRecord.load(tmp_path / "texts.npz").labels is None
    (tmp_path / "cut.npz").write_bytes((tmp_path / "record.npz").read_bytes()[:100])
    with pytest.raises(ValueError, match="cut.npz: not a complete berxit record"):
        ExitRecord.load(tmp_path / "cut.npz")
