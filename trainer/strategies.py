"""Fine-tuning strategies: which objective each optimizer step trains.

The objective depends only on the optimizer step (`global_step`), never on a batch counter, so every
micro-batch of a step, every process, and a run resumed from a checkpoint all agree.
"""

from __future__ import annotations

# alternating: BERxiT; "all exits" and "final exit" steps take turns.
# joint: every step trains every exit.
# two_stage: DeeBERT; the first half of the steps trains backbone + final exit, the second half only the
#   early exits, with backbone and final exit frozen.
STRATEGIES = ("alternating", "joint", "two_stage")


def objective_for_step(strategy: str, step: int, total_steps: int) -> str:
    """The objective (`BerxitModel.forward`'s `objective`) of optimizer step `step` (0-based)."""
    if strategy == "alternating":
        return "all_exits" if step % 2 == 0 else "final_exit"
    if strategy == "joint":
        return "all_exits"
    if strategy == "two_stage":
        check_two_stage_steps(total_steps)
        return "final_exit" if step < total_steps // 2 else "early_exits"
    raise ValueError(f"exit_strategy: expected one of {STRATEGIES}, got {strategy!r}.")


def check_two_stage_steps(total_steps: int) -> None:
    if total_steps < 2 or total_steps % 2:
        raise ValueError(
            f"exit_strategy='two_stage' splits training into two stages of equal length, which needs an even "
            f"number of optimizer steps >= 2; this run has {total_steps}. Change num_train_epochs or max_steps."
        )
