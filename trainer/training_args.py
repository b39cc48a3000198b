"""TrainingArguments with the BERxiT fine-tuning strategy, so HfArgumentParser exposes it on the command line."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from .strategies import STRATEGIES, exit_strategy


@dataclass
class BerxitTrainingArguments(TrainingArguments):
    """`TrainingArguments` plus `exit_strategy`.

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

    def __post_init__(self):
        strategy = exit_strategy(self.exit_strategy)
        if self.ddp_find_unused_parameters is None:
            self.ddp_find_unused_parameters = True
        elif not self.ddp_find_unused_parameters and strategy.leaves_exits_without_gradient:
            raise ValueError(
                f"ddp_find_unused_parameters: exit_strategy={self.exit_strategy!r} has steps that leave some exits "
                "without gradients, which DDP only allows with ddp_find_unused_parameters=True."
            )
        super().__post_init__()
