"""The certainty head's fit (`fit_linear_head`): a logistic regression on the raw features, soft targets included,
its strength chosen on held-out folds, and nothing fitted where the targets leave nothing to learn."""

import torch

from berxit.evaluation.certainty_fit import STRENGTHS, fit_linear_head


def features_and_targets(examples: int, soft: bool, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    # (examples, layers, features): one feature carries the signal, on a raw scale of 100; the others are noise.
    features = torch.randn(examples, 3, 4, generator=generator)
    features[..., 0] *= 100.0
    chance = torch.sigmoid(features[..., 0] / 50.0 - 0.5)  # (examples, layers)
    targets = chance if soft else (torch.rand(examples, 3, generator=generator) < chance).float()
    return features, targets, chance


def test_the_fit_recovers_the_logistic_model_on_the_raw_features():
    for soft in (False, True):
        features, targets, chance = features_and_targets(2000, soft)
        fit = fit_linear_head(features, targets)
        assert fit.strength in STRENGTHS
        fitted = torch.sigmoid(fit.logits(features)).float()  # (examples, layers)
        assert (fitted - chance).abs().max() < (0.02 if soft else 0.08)
        assert abs(fit.weight[0] - 1 / 50) < (0.001 if soft else 0.004) and fit.weight[1:].abs().max() < 0.1


def test_nothing_is_fitted_where_the_targets_leave_nothing_to_learn():
    features, targets, _ = features_and_targets(20, soft=False)
    assert fit_linear_head(features, torch.ones_like(targets)) is None
    assert fit_linear_head(features, torch.zeros_like(targets)) is None
    one_wrong = torch.ones_like(targets)
    one_wrong[3, 1] = 0  # one example with a wrong exit: no fold could both learn and check it
    assert fit_linear_head(features, one_wrong) is None
    one_wrong[7, 0] = 0
    assert fit_linear_head(features, one_wrong) is not None
