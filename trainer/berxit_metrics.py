"""Evaluation of BERxiT models through `Trainer(compute_metrics=...)`: every exit, the certainty head, and the
early-exit result at an operating point."""

from __future__ import annotations

import numpy as np
import torch
from transformers import EvalPrediction

from ..evaluation.exit_quality import exit_quality
from ..evaluation.metrics import depth_metrics, task_metrics
from ..evaluation.operating_point import choose_operating_point
from ..evaluation.records import ExitRecord
from ..evaluation.risk_control import Promise
from ..exit_rules.rules import exit_rule_class, make_exit_rule, replay_exits, rules_for
from ..modeling_berxit.losses import certainty_targets


class BerxitMetrics:
    """`compute_metrics` for [`BerxitTrainer`] (or any Trainer evaluating a BERxiT model with labels).

    Reports, for every exit `i`: its task metric (`exit_i_accuracy`, `exit_i_f1`, or `exit_i_pearson` and
    `exit_i_spearman`), the certainty head's Brier score against that exit's correctness
    (`exit_i_certainty_brier`) and how well it ranks right above wrong answers there, beside the exit's own
    max-softmax (`exit_i_certainty_auroc`, `exit_i_softmax_auroc`; regression: `exit_i_certainty_spearman`); over
    all exits, `certainty_auc` (classification: how well certainty ranks right
    above wrong answers) or `certainty_spearman` (regression); and, where an operating point is known
    (`threshold`, or `config.exit_threshold`, or the patience rule), `early_exit_<metric>`, `avg_exit_layer` and
    `saved_layers` (`1 - avg_exit_layer / num_layers`).

    And, for every rule the model can exit by, `certified_<rule>_saved_layers`: the share of layers the operating
    point Learn then Test certifies on these examples would save (harm at most `max_drop` points with probability
    `confidence`; 0 where nothing is certified), as `berxit-sweep` chooses it, so every evaluation shows what
    early exit could save at a stated risk.
    """

    def __init__(
        self,
        config,
        threshold: float | list[float] | None = None,
        rule: str | None = None,
        max_drop: float = 1.0,
        confidence: float = 0.9,
    ):
        self.config = config
        self.rule = config.exit_rule if rule is None else rule
        self.threshold = threshold
        if not 0 <= max_drop <= 100:
            raise ValueError(f"max_drop: expected a number of points in [0, 100], got {max_drop}.")
        self.promise = Promise("harm", max_drop / 100, confidence)  # refuses a confidence outside (0, 1)
        saved = exit_rule_class(self.rule).saved_setting(config)
        self.has_operating_point = threshold is not None or saved is not None
        if self.has_operating_point:
            make_exit_rule(config, self.rule, threshold)  # bad settings fail here, not after a long evaluation

    def __call__(self, eval_prediction: EvalPrediction) -> dict[str, float]:
        from scipy.stats import spearmanr
        from sklearn.metrics import roc_auc_score

        # Predictions are BerxitModelOutput's fields after the loss: logits, exit_logits, certainties, ...
        exit_logits = torch.as_tensor(np.asarray(eval_prediction.predictions[1])).float()
        certainties = torch.as_tensor(np.asarray(eval_prediction.predictions[2])).float()
        labels = torch.as_tensor(np.asarray(eval_prediction.label_ids))
        is_regression = self.config.is_regression
        if is_regression:
            labels = labels.float()
        num_layers = exit_logits.shape[1]
        correct = certainty_targets(exit_logits, labels, is_regression)
        record = ExitRecord(exit_logits, certainties, labels)

        metrics = {}
        for row in exit_quality(self.config, record):  # each exit's metric and how well its scores rank it
            layer = row.pop("exit")
            metrics.update({f"exit_{layer}_{name}": value for name, value in row.items()})
        if is_regression:
            metrics["certainty_spearman"] = float(spearmanr(certainties.flatten(), correct.flatten())[0])
        elif 0 < correct.sum() < correct.numel():
            metrics["certainty_auc"] = float(roc_auc_score(correct.flatten().numpy(), certainties.flatten().numpy()))

        if self.has_operating_point:
            exit_rule = make_exit_rule(self.config, self.rule, self.threshold)
            exit_layers, answers = replay_exits(exit_rule, exit_logits, certainties)
            for name, value in task_metrics(answers, labels, is_regression).items():
                metrics[f"early_exit_{name}"] = value
            depth = depth_metrics(exit_layers, num_layers)
            metrics["avg_exit_layer"], metrics["saved_layers"] = depth["avg_exit_layer"], depth["saved_layers"]

        metric = "spearman" if is_regression else "accuracy"  # only the chooser before compares it
        for rule in rules_for(self.config):
            chosen = choose_operating_point(self.config, record, rule, metric, self.promise)
            metrics[f"certified_{rule}_saved_layers"] = chosen["saved_layers"]
        return metrics
