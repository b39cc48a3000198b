"""Choosing an operating point, directly on records and curves: ties go to the safer setting, nothing certified
serves the last layer, and the test result carries its intervals and realised risk."""

import torch

from berxit import BerxitConfig
from berxit.evaluation import ExitRecord, Promise, choose_operating_point
from berxit.evaluation.operating_point import (
    find_operating_point,
    largest_within_drop,
    most_saved_within,
    within_drop,
)

LAYERS = 3


def config():
    return BerxitConfig(backbone_config={"model_type": "bert", "num_hidden_layers": LAYERS}, num_labels=2)


def agreeing_record(examples: int, certainty: float) -> ExitRecord:
    """Every exit answers the right class with the same certainty: any threshold up to it exits at layer 1."""
    labels = torch.arange(examples) % 2
    exit_logits = torch.nn.functional.one_hot(labels, 2).float()[:, None].expand(examples, LAYERS, 2) * 3.0
    return ExitRecord(exit_logits.clone(), torch.full((examples, LAYERS), certainty), labels)


def test_within_drop_forgives_float_noise_only():
    assert within_drop(0.80, 0.81, 1.0) and within_drop(0.8 - 1e-13, 0.81, 1.0)
    assert not within_drop(0.799, 0.81, 1.0)


def test_most_saved_within_is_the_curve_view_with_none_when_no_point_qualifies():
    points = [
        {"accuracy": 0.795, "saved_layers": 0.4},
        {"accuracy": 0.70, "saved_layers": 0.7},  # saves more, costs 10 points
        {"accuracy": 0.80, "saved_layers": 0.0},
    ]
    assert most_saved_within(points, 0.80, "accuracy", 1.0) == 0.4
    assert most_saved_within(points, 0.90, "accuracy", 1.0) is None


def test_the_old_chooser_breaks_ties_towards_the_safer_setting():
    final = {"accuracy": 0.80, "saved_layers": 0.0}
    points = [
        {"setting": 0.2, "accuracy": 0.80, "saved_layers": 0.5},
        {"setting": 0.6, "accuracy": 0.80, "saved_layers": 0.5},  # the same saving, a higher threshold: safer
        {"setting": 0.1, "accuracy": 0.70, "saved_layers": 0.7},  # saves more, costs 10 points
    ]
    assert largest_within_drop(points, final, "accuracy", 1.0)["setting"] == 0.6
    # Nothing within the drop: the most accurate, and of those the one saving least.
    costly = [
        {"setting": 0.1, "accuracy": 0.5, "saved_layers": 0.6},
        {"setting": 0.9, "accuracy": 0.5, "saved_layers": 0.1},
    ]
    assert largest_within_drop(costly, final, "accuracy", 1.0)["setting"] == 0.9


def test_learn_then_test_takes_the_safest_of_the_settings_saving_most():
    record = agreeing_record(2000, certainty=0.5)
    chosen = choose_operating_point(config(), record, "certainty", "accuracy", Promise("harm", 0.01, 0.9))
    # Thresholds 0.00..0.50 all exit everyone at layer 1 with no harm: the safest of them, 0.50, is kept.
    assert chosen["certified"] and chosen["setting"] == 0.5 and chosen["saved_layers"] == 1 - 1 / LAYERS
    assert 0 < chosen["bound"] < 0.01


def test_nothing_certified_serves_the_last_layer_and_test_carries_intervals():
    record = agreeing_record(10, certainty=0.5)  # 10 examples certify no 1% harm
    records = {"validation": record, "test": agreeing_record(40, certainty=0.5)}
    point = find_operating_point(config(), records, "certainty", "accuracy", Promise("harm", 0.01, 0.9))
    assert point["chosen"]["setting"] is None and point["chosen"]["certified"] is False
    assert point["on_test"]["avg_exit_layer"] == LAYERS and point["on_test"]["risk"] == 0.0
    low, high = point["on_test"]["accuracy_interval"]
    assert low <= point["on_test"]["accuracy"] <= high
