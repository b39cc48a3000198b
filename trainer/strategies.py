"""Fine-tuning strategies: which objective each optimizer step trains, and what that asks of the run.

A strategy owns its facts: the objective of every step, the parameters a step must leave frozen, the step counts
it can run and whether some steps leave exits without gradients (what DDP must be told). The trainer, the training
arguments and the experiments ask the strategy; a new one is one class here, registered with `@register_strategy`.

The objective depends only on the optimizer step (`global_step`), never on a batch counter, so every micro-batch of
a step, every process, and a run resumed from a checkpoint all agree.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

STRATEGIES: dict[str, ExitStrategy] = {}  # name -> strategy, in registration order


def register_strategy(cls: type[ExitStrategy]) -> type[ExitStrategy]:
    """Class decorator: makes the strategy known to `BerxitTrainingArguments.exit_strategy` by `cls.name`."""
    STRATEGIES[cls.name] = cls()
    return cls


class ExitStrategy:
    """Base class: `objective(step, total_steps)` is the objective (`BerxitModel.forward`'s) of optimizer step
    `step` (0-based)."""

    name: ClassVar[str]
    # Whether some step gives some exit no gradient: then DDP needs `ddp_find_unused_parameters=True`.
    leaves_exits_without_gradient: ClassVar[bool] = True

    def objective(self, step: int, total_steps: int) -> str:
        raise NotImplementedError

    def check_steps(self, total_steps: int) -> None:
        """Refuses a number of optimizer steps the strategy cannot run."""

    def runnable_steps(self, steps: int) -> int:
        """The nearest number of optimizer steps, from `steps` up, that the strategy can run."""
        return steps

    def frozen_parameters(self, model: nn.Module, objective: str) -> list[nn.Parameter]:
        """The parameters a step of `objective` must leave exactly as they are (no gradient, so the optimizer's
        weight decay and momentum do not move them either)."""
        return []


@register_strategy
class Alternating(ExitStrategy):
    """BERxiT: "all exits" and "final exit" steps take turns."""

    name = "alternating"

    def objective(self, step, total_steps):
        return "all_exits" if step % 2 == 0 else "final_exit"


@register_strategy
class Joint(ExitStrategy):
    """Every step trains every exit."""

    name = "joint"
    leaves_exits_without_gradient = False

    def objective(self, step, total_steps):
        return "all_exits"


@register_strategy
class TwoStage(ExitStrategy):
    """DeeBERT: the first half of the steps trains backbone + final exit, the second half only the early exits and
    the certainty head, with the backbone and the final exit frozen."""

    name = "two_stage"

    def objective(self, step, total_steps):
        self.check_steps(total_steps)
        return "final_exit" if step < total_steps // 2 else "early_exits"

    def check_steps(self, total_steps):
        if total_steps < 2 or total_steps % 2:
            raise ValueError(
                f"exit_strategy='two_stage' splits training into two stages of equal length, which needs an even "
                f"number of optimizer steps >= 2; this run has {total_steps}. Change num_train_epochs or max_steps."
            )

    def runnable_steps(self, steps):
        return max(2, steps + steps % 2)

    def frozen_parameters(self, model, objective):
        if objective != "early_exits":
            return []
        base = model.base_model
        trained = [*base.exits[:-1].parameters(), *base.certainty_head.parameters()]
        kept = {id(parameter) for parameter in trained}
        return [parameter for parameter in model.parameters() if id(parameter) not in kept]


def exit_strategy(name: str) -> ExitStrategy:
    """The strategy registered as `name`; an unknown name is refused naming `exit_strategy`."""
    if name not in STRATEGIES:
        raise ValueError(f"exit_strategy: expected one of {tuple(STRATEGIES)}, got {name!r}.")
    return STRATEGIES[name]
