"""BerxitTrainer: the Trainer whose `compute_loss` tells the model which objective each step trains, and which can
fit the certainty head afterwards on examples the exits never trained on."""

from __future__ import annotations

from collections import defaultdict

import datasets
import torch
from torch.utils.data import DataLoader, Subset
from transformers import Trainer
from transformers.utils import logging

from ..data.splits import SPLIT_SEED
from ..evaluation.certainty_fit import fit_linear_head
from ..evaluation.records import record_certainty_features
from ..modeling_berxit.losses import certainty_targets
from .strategies import exit_strategy
from .training_args import BerxitTrainingArguments

logger = logging.get_logger(f"transformers.{__name__}")

# Loss in evaluation: every exit's, so that the early exits' quality shows in `eval_loss`.
EVAL_OBJECTIVE = "all_exits"


class BerxitTrainer(Trainer):
    """A `Trainer` for BERxiT models that implements the fine-tuning strategy of `args.exit_strategy`.

    Each step's loss is `args.objective(...)` of the strategy's exits for it. The training log shows each
    objective's task loss (`loss_all_exits`, `loss_final_exit`, `loss_early_exits`), the certainty loss
    (`loss_certainty`) and, when distilling, `loss_distillation` beside the usual `loss`.

    With `args.certainty_holdout` (by default 0.1), that share of `train_dataset` (seeded, the same for every run) is
    kept out of training as `certainty_dataset`, and `train` ends by fitting the certainty head on it
    (`fit_certainty_head`).
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
        self.certainty_dataset = None
        if self.args.certainty_holdout and self.train_dataset is not None:  # a trainer to evaluate holds none out
            self.train_dataset, self.certainty_dataset = split_certainty_examples(
                self.train_dataset, self.args.certainty_holdout
            )

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
            output = super().train(*args, **kwargs)
        finally:
            self._freeze([])
        if self.certainty_dataset is not None:
            self.fit_certainty_head(self.certainty_dataset)
        return output

    def fit_certainty_head(self, dataset) -> dict[str, float]:
        """Fits the certainty head alone to what the finished exits do on `dataset` (tokenized, with labels),
        examples they never trained on. In training the head chases answers that move with every step (and after
        the first epoch, answers fitted to the very examples it learns from); this fits it once, to the answers it
        will be asked about. The fit is a logistic regression over what the head reads, against
        `args.certainty_target` (`fit_linear_head`), written into the head; the rest of the model is unchanged.
        Returns (and logs) the examples it was fitted on and the L2 strength chosen; a dataset on which every
        exit meets the target, or none does, leaves the trained head as it is, with a warning."""
        model = self.accelerator.unwrap_model(self.model)
        was_training = model.training
        if isinstance(dataset, datasets.Dataset):
            dataset = self._remove_unused_columns(dataset, description="certainty fit")
        # Every process fits on the whole dataset (no sharding), so all of them end with the same head.
        batches = DataLoader(dataset, batch_size=self.args.per_device_eval_batch_size, collate_fn=self.data_collator)
        features, record = record_certainty_features(model, batches)  # (examples, layers, features)
        model.train(was_training)
        targets = certainty_targets(
            record.exit_logits, record.labels, model.config.is_regression, self.args.certainty_target
        )
        fit = fit_linear_head(features, targets)
        if fit is None:
            logger.warning(
                f"certainty fit: on these {len(record)} examples the exits leave nothing to learn (every answer "
                f"meets the {self.args.certainty_target!r} target, or none does); the certainty head keeps what it "
                "learned in training."
            )
            metrics = {"certainty_fit_examples": len(record)}
            self.log(dict(metrics))  # the Trainer adds the epoch to what it logs
            return metrics
        classifier = model.base_model.certainty_head.classifier
        with torch.no_grad():
            classifier.weight.copy_(fit.weight.to(classifier.weight)[None])  # (1, features)
            classifier.bias.fill_(fit.bias)
        metrics = {"certainty_fit_examples": len(record), "certainty_fit_strength": fit.strength}
        self.log(dict(metrics))
        return metrics

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        if "loss" in logs and self._logged_losses:
            for name, values in self._logged_losses.items():
                logs[name] = round(torch.stack(values).mean().item(), 4)
            self._logged_losses.clear()
        super().log(logs, start_time)


def split_certainty_examples(dataset, fraction: float) -> tuple:
    """`dataset` (any sized one: a `datasets.Dataset` stays one) split into (the rest, a seeded `fraction` of it for
    the certainty head), the same examples whatever the run's seed."""
    if not hasattr(dataset, "__len__"):
        raise ValueError(
            f"certainty_holdout: needs a train_dataset of known length, got a {type(dataset).__name__}; set "
            "certainty_holdout=0 (the head then learns in training only; to fit it too, hold examples out yourself "
            "and call trainer.fit_certainty_head(held_out) after training)."
        )
    size = len(dataset)
    held = round(size * fraction)
    if held < 2 or held == size:
        raise ValueError(
            f"certainty_holdout: {fraction} of {size} training examples holds out {held}; the fit needs at least 2 "
            "and training at least 1 (certainty_holdout=0: the head learns in training only)."
        )
    order = torch.randperm(size, generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
    parts = sorted(order[held:]), sorted(order[:held])
    if hasattr(dataset, "select"):  # so the Trainer still drops a datasets.Dataset's unused columns
        return tuple(dataset.select(rows) for rows in parts)
    return tuple(Subset(dataset, rows) for rows in parts)
