"""Thresholds that send a benchmark's examples out where wanted: a single one that saves a given share of layers
(a real checkpoint), or one per layer that spreads exits over five layers (a random model)."""

from __future__ import annotations

import torch

from ...evaluation.records import collect_outputs
from ...exit_rules.rules import CertaintyRule, replay_exits


def record_certainties(model, inputs, batch_size: int = 32) -> torch.Tensor:
    batches = [
        {name: value[start : start + batch_size] for name, value in inputs.items()}
        for start in range(0, len(inputs["input_ids"]), batch_size)
    ]
    return collect_outputs(model, batches, ("certainties",), early_exit=False)["certainties"]


def scalar_threshold(certainties: torch.Tensor, saving: float) -> float:
    """The single threshold whose replayed exits come closest to saving `saving` of the layers."""
    num_layers = certainties.shape[1]
    dummy_logits = torch.zeros(*certainties.shape, 2)
    best, best_gap = 1.0, float("inf")
    for step in range(1001):
        threshold = step / 1000
        layers, _ = replay_exits(CertaintyRule(threshold, num_layers), dummy_logits, certainties)
        gap = abs(1 - layers.float().mean().item() / num_layers - saving)
        if gap < best_gap:
            best, best_gap = threshold, gap
    return best


def driven_thresholds(certainties: torch.Tensor, saving: float) -> list[float]:
    """Per-layer thresholds that spread the exits evenly over five layers centred on `(1 - saving) * L`."""
    count, num_layers = certainties.shape
    centre = round((1 - saving) * num_layers)
    width = min(2, centre - 1, num_layers - centre)
    targets = list(range(centre - width, centre + width + 1))
    per_layer = {layer: count // len(targets) + (i < count % len(targets)) for i, layer in enumerate(targets)}
    active = torch.ones(count, dtype=torch.bool)
    thresholds = []
    for layer in range(1, num_layers):
        leaving = per_layer.get(layer, 0)
        values = certainties[active, layer - 1].sort(descending=True).values
        if leaving == 0:
            threshold = 1.0
        elif leaving >= len(values):
            threshold = 0.0
        else:  # between the `leaving`-th highest and the next: exactly `leaving` examples reach it
            threshold = float((values[leaving - 1] + values[leaving]) / 2)
        thresholds.append(threshold)
        active &= ~(certainties[:, layer - 1] >= threshold)
    return thresholds
