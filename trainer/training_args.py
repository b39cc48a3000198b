"""TrainingArguments with the BERxiT fine-tuning strategy, so HfArgumentParser exposes it on the command line."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from ..configuration_berxit.config import PAPER_CERTAINTY_INPUTS
from ..modeling_berxit.losses import CERTAINTY_GRADIENTS, CERTAINTY_LOSSES, CERTAINTY_TARGETS, BerxitObjective
from .strategies import STRATEGIES, exit_strategy

PAPER_CERTAINTY_HOLDOUT = 0.0  # the paper's certainty head learns in training only


@dataclass
class BerxitTrainingArguments(TrainingArguments):
    """`TrainingArguments` plus `exit_strategy` and how each step's loss is made (`objective`). The defaults change
    the paper's recipe as its ablation chose (README, *Ablation of the certainty head*): the final exit distilled
    into the early ones (weight 1, temperature 2), gradient equilibrium, and a certainty head that reads each exit's
    answer (`BerxitConfig.certainty_inputs`), learns in itself whether the exit answers as the final one does, and is
    fitted once training ends on a tenth of the training examples kept out of it (`certainty_holdout`,
    `BerxitTrainer.fit_certainty_head`). The paper's recipe is `paper_recipe()` with `certainty_inputs="pooled"`.

    `ddp_find_unused_parameters` defaults to True: a "final exit" step gives the early exits' task heads no
    gradient, which DDP only accepts when told to look for unused parameters.
    """

    exit_strategy: str = field(
        default="alternating",
        metadata={
            "help": "How the exits are fine-tuned: 'alternating' (BERxiT: all-exits and final-exit steps take turns),"
            " 'joint' (every step trains all exits) or 'two_stage' (DeeBERT: backbone + final exit for the first"
            " half of the steps, then only the early exits).",
            "choices": list(STRATEGIES),
        },
    )

    certainty_target: str = field(
        default="agreement",
        metadata={
            "help": "What the certainty head learns of each exit: 'agreement' (it answers as the final exit does) or "
            "'correct' (the paper's: its answer is right).",
            "choices": list(CERTAINTY_TARGETS),
        },
    )
    certainty_loss: str = field(
        default="mse",
        metadata={
            "help": "The certainty head's loss against each exit's correctness: 'mse' (the paper's) or 'bce' "
            "(binary cross-entropy).",
            "choices": list(CERTAINTY_LOSSES),
        },
    )
    certainty_weight: float = field(default=1.0, metadata={"help": "The certainty loss's weight in every step."})
    certainty_gradient: str = field(
        default="head",
        metadata={
            "help": "Where the certainty loss's gradient goes: 'head' (the certainty head alone) or 'backbone' (the "
            "paper's: the head, the exits' poolers and the shared layers).",
            "choices": list(CERTAINTY_GRADIENTS),
        },
    )
    distillation_weight: float = field(
        default=1.0,
        metadata={
            "help": "Weight of distilling the final exit's answer into every early exit a step trains (KL at "
            "--distillation_temperature; squared difference for regression). 0: off (the paper's)."
        },
    )
    distillation_temperature: float = field(
        default=2.0, metadata={"help": "Temperature of the distillation's softened distributions."}
    )
    gradient_equilibrium: bool = field(
        default=True,
        metadata={
            "help": "Rescale the gradients the shared layers get from the exits above them (ElasticBERT's "
            "gradient equilibrium). Off: the paper's."
        },
    )

    certainty_holdout: float = field(
        default=0.1,
        metadata={
            "help": "Share of the training examples kept out of the exits' training; once training ends, the "
            "certainty head alone is fitted on them (BerxitTrainer.fit_certainty_head: a logistic regression "
            "against --certainty_target), so it learns from answers the exits never trained on. Needs a training "
            "set of known length of which this share is 2 examples or more. 0: off (the paper's: the head learns "
            "during training only)."
        },
    )

    def objective(self, exits: str) -> BerxitObjective:
        """The loss of a step that trains `exits` (the strategy's objective for it), as these arguments make it."""
        return BerxitObjective(
            exits=exits,
            certainty_target=self.certainty_target,
            certainty_loss=self.certainty_loss,
            certainty_weight=self.certainty_weight,
            certainty_gradient=self.certainty_gradient,
            distillation_weight=self.distillation_weight,
            distillation_temperature=self.distillation_temperature,
            gradient_equilibrium=self.gradient_equilibrium,
        )

    def recipe(self) -> dict:
        """How the exits and the certainty head are trained, beside the strategy: the objective's settings and
        `certainty_holdout` (what a run records, under `objective`)."""
        return {**self.objective("all_exits").settings(), "certainty_holdout": self.certainty_holdout}

    @staticmethod
    def paper_recipe() -> dict:
        """`recipe()` as the paper trains: what a recipe's changes are measured from."""
        return {**BerxitObjective().settings(), "certainty_holdout": PAPER_CERTAINTY_HOLDOUT}

    def __post_init__(self):
        self.objective("all_exits")  # refuses a setting the model's objective would refuse, naming it
        value = self.certainty_holdout
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"certainty_holdout: expected a share of the training examples in [0, 1), got {value!r}.")
        strategy = exit_strategy(self.exit_strategy)
        if self.ddp_find_unused_parameters is None:
            self.ddp_find_unused_parameters = True
        elif not self.ddp_find_unused_parameters and strategy.leaves_exits_without_gradient:
            raise ValueError(
                f"ddp_find_unused_parameters: exit_strategy={self.exit_strategy!r} has steps that leave some exits "
                "without gradients, which DDP only allows with ddp_find_unused_parameters=True."
            )
        super().__post_init__()


def recipe_changes(config, objective: dict) -> dict:
    """What a run's recipe changes from the paper's: its certainty head's inputs, and its objective's settings and
    held-out share (a run record's `objective`, `BerxitTrainingArguments.recipe()`) that differ from the paper's;
    without distillation its temperature is no change."""
    changes = {} if config.certainty_inputs == PAPER_CERTAINTY_INPUTS else {"certainty_inputs": config.certainty_inputs}
    paper = BerxitTrainingArguments.paper_recipe()
    changes.update({key: value for key, value in objective.items() if value != paper[key]})
    if not objective.get("distillation_weight"):
        changes.pop("distillation_temperature", None)
    return changes
