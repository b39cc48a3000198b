"""Does the operating point keep its promise? Pool a model's labelled records (validation and test), draw random
halves, choose on one half and measure on the other: how often the drop on the unseen half stays within ε, and
what was saved. No model runs: every draw replays the records."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from ...evaluation.curves import evaluate_setting
from ...evaluation.operating_point import choose_operating_point
from ...evaluation.records import ExitRecord
from ...evaluation.risk_control import Promise
from ...exit_rules.rules import rules_for


def pooled(records: list[ExitRecord]) -> ExitRecord:
    """One record of all `records`' examples."""
    return ExitRecord(
        torch.cat([r.exit_logits for r in records]),
        torch.cat([r.certainties for r in records]),
        torch.cat([r.labels for r in records]),
    )


def check_promise(
    config, record: ExitRecord, metric: str, promise: Promise, draws: int = 200, seed: int = 0
) -> list[dict]:
    """For every rule and for both choosers (the promised one, and `largest_within_drop` at the same ε), over
    `draws` random halves of `record`: the share of draws whose drop of `metric` on the other half is within ε
    points (`held`), the mean drop and the mean share of layers saved there, and how often nothing was certified."""
    generator = np.random.default_rng(seed)
    halves = [generator.permutation(len(record)) for _ in range(draws)]
    size = len(record) // 2
    choosers = [promise]
    if promise.chooser != "largest_within_drop":
        choosers.append(replace(promise, chooser="largest_within_drop"))
    rows = []
    for rule in rules_for(config):
        for chooser in choosers:
            drops, saved, uncertified = [], [], 0
            for order in halves:
                calibration, other = record.select(order[:size]), record.select(order[size:])
                chosen = choose_operating_point(config, calibration, rule, metric, chooser)
                uncertified += chosen["certified"] is False
                final = evaluate_setting(config, other, None)[metric]
                at_point = evaluate_setting(config, other, rule, chosen["setting"])
                drops.append(final - at_point[metric])
                saved.append(at_point["saved_layers"])
            drops = np.asarray(drops)
            rows.append(
                {
                    "rule": rule,
                    "chooser": chooser.chooser,
                    "held": float(np.mean(drops <= promise.epsilon + 1e-12)),
                    "mean_drop": float(drops.mean()),
                    "saved_layers": float(np.mean(saved)),
                    "uncertified": uncertified / draws,
                }
            )
    return rows
