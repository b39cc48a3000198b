"""BerxitTrainer: the Trainer whose `compute_loss` tells the model which objective each step trains."""

from __future__ import annotations

from collections import defaultdict

import torch
from transformers import Trainer

from .strategies import exit_strategy
from .training_args import BerxitTrainingArguments

# Loss in evaluation: every exit's, so that the early exits' quality shows in `eval_loss`.
EVAL_OBJECTIVE = "all_exits"


class BerxitTrainer(Trainer):
    """A `Trainer` for BERxiT models that implements the fine-tuning strategy of `args.exit_strategy`.

    Each step's loss is `args.objective(...)` of the strategy's exits for it. The training log shows each
    objective's task loss (`loss_all_exits`, `loss_final_exit`, `loss_early_exits`), the certainty loss
    (`loss_certainty`) and, when distilling, `loss_distillation` beside the usual `loss`.
    """

    # The model returns per-batch means: Trainer divides them by the gradient-accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, model=None, args: BerxitTrainingArguments | None = None, **kwargs):
        if model is None or getattr(getattr(model, "config", None), "model_type", None) != "berxit":
            raise TypeError(
                f"model: BerxitTrainer needs a berxit model (config.model_type 'berxit'), got {type(model).__name__}."
            )
        if args is None:
            args = BerxitTrainingArguments(output_dir="trainer_output")
        if not isinstance(args, BerxitTrainingArguments):
            raise TypeError(f"args: expected BerxitTrainingArguments, got {type(args).__name__}.")
        super().__init__(model=model, args=args, **kwargs)
        self._logged_losses: dict[str, list[torch.Tensor]] = defaultdict(list)
        self.strategy = exit_strategy(self.args.exit_strategy)
        self._frozen: list[torch.nn.Parameter] = []  # what the strategy froze for this step, to give back after

    def current_objective(self) -> str:
        """The objective of the optimizer step under way."""
        return self.strategy.objective(self.state.global_step, self.state.max_steps)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if "labels" not in inputs:
            raise ValueError(
                f"labels: the batch has no 'labels' (it has {sorted(inputs)}); give the dataset a 'labels' column."
            )
        objective = self.current_objective() if model.training else EVAL_OBJECTIVE
        if model.training:
            self._freeze(self.strategy.frozen_parameters(self.accelerator.unwrap_model(self.model), objective))
        outputs = model(**inputs, objective=self.args.objective(objective))
        if model.training:
            self._logged_losses[f"loss_{objective}"].append(outputs.task_loss.detach())
            self._logged_losses["loss_certainty"].append(outputs.certainty_loss.detach())
            if outputs.distillation_loss is not None:
                self._logged_losses["loss_distillation"].append(outputs.distillation_loss.detach())
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _freeze(self, parameters: list[torch.nn.Parameter]) -> None:
        """Freezes `parameters` (the strategy's for this step) and gives back what an earlier step froze.

        Frozen parameters get no gradient, so the optimizer leaves them exactly as they are.
        """
        if {id(p) for p in parameters} == {id(p) for p in self._frozen}:
            return
        for parameter in self._frozen:
            parameter.requires_grad_(True)
        self._frozen = [parameter for parameter in parameters if parameter.requires_grad]
        for parameter in self._frozen:
            parameter.requires_grad_(False)

    def train(self, *args, **kwargs):
        try:
            return super().train(*args, **kwargs)
        finally:
            self._freeze([])

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._logged_losses:
            for name, values in self._logged_losses.items():
                logs[name] = round(torch.stack(values).mean().item(), 4)
            self._logged_losses.clear()
        super().log(logs, start_time)
