"""The recipes berxit trains by, by name: the paper's, and each step of the certainty head's ablation as its changes
to the paper's, up to berxit's default (`DEFAULT_RECIPE`, what the ablation chose). `berxit-train --recipe`,
`berxit-experiments --recipe`, `make ablations` and the ablation table all read this one list."""

from __future__ import annotations

from ..configuration_berxit.config import PAPER_CERTAINTY_INPUTS
from .training_args import BerxitTrainingArguments

# Each recipe as its changes to the paper's: the model's `certainty_inputs` and `BerxitTrainingArguments`' recipe
# settings (`recipe()`).
RECIPES = {
    "paper": {},
    "answer": {"certainty_inputs": "pooled_and_answer"},
    "distill": {"distillation_weight": 1.0, "distillation_temperature": 2.0},
    "bce": {"certainty_loss": "bce"},
    "agreement": {"certainty_target": "agreement"},
    "head_only": {"certainty_gradient": "head"},
    "equilibrium": {"gradient_equilibrium": True},
    "held_out": {"certainty_holdout": 0.1},
}
RECIPES["combined"] = {**RECIPES["answer"], **RECIPES["distill"], **RECIPES["equilibrium"]}
RECIPES["combined_agreement"] = {**RECIPES["combined"], **RECIPES["agreement"]}
RECIPES["combined_agreement_head"] = {**RECIPES["combined_agreement"], **RECIPES["head_only"]}
RECIPES["combined_held_out"] = {**RECIPES["combined_agreement_head"], **RECIPES["held_out"]}
DEFAULT_RECIPE = "combined_held_out"  # what `BerxitTrainingArguments` and a new model's config default to


def recipe_settings(name: str) -> dict:
    """Every setting of recipe `name`: the model's `certainty_inputs` and the training arguments' recipe."""
    if name not in RECIPES:
        raise ValueError(f"recipe: expected one of {list(RECIPES)}, got {name!r}.")
    return {**BerxitTrainingArguments.paper_recipe(), "certainty_inputs": PAPER_CERTAINTY_INPUTS, **RECIPES[name]}
