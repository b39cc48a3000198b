"""How good each exit is and how well the scores an exit rule reads tell its right answers from its wrong ones:
per exit, the task metric, the certainty head's AUROC and Brier score against that exit's correctness, and (for
classes) the same AUROC for the exit's own max-softmax, the score entropy-like rules lean on; and what a better
head could do: one refitted on examples the model never trained on, and the agreement oracle, a head that knew
which exits answer as the final one."""

from __future__ import annotations

import math

import torch

from ..modeling_berxit.losses import certainty_targets
from .certainty_fit import fit_linear_head
from .metrics import task_metrics
from .records import ExitRecord


def exit_quality(config, record: ExitRecord) -> list[dict]:
    """One row per exit (1-based `exit`): its task metrics, `certainty_auroc`, `certainty_brier` and, for classes,
    `softmax_auroc`; an AUROC is NaN where that exit is right on every example or on none (regression: the
    Spearman correlation of certainty with `1 - tanh(|error|)`, as `certainty_spearman`)."""
    from scipy.stats import spearmanr

    labels = record.labels.float() if config.is_regression else record.labels
    correct = certainty_targets(record.exit_logits, labels, config.is_regression)  # (examples, layers)
    rows = []
    for layer in range(record.num_layers):
        logits, certainty, right = record.exit_logits[:, layer], record.certainties[:, layer], correct[:, layer]
        row = {"exit": layer + 1, **task_metrics(logits, labels, config.is_regression)}
        row["certainty_brier"] = float(((certainty - right) ** 2).mean())
        if config.is_regression:
            row["certainty_spearman"] = float(spearmanr(certainty.numpy(), right.numpy())[0])
        else:
            row["certainty_auroc"] = auroc(certainty, right.bool())
            row["softmax_auroc"] = auroc(torch.softmax(logits, -1).max(-1).values, right.bool())
        rows.append(row)
    return rows


def refit_head(features: dict[str, torch.Tensor], records: dict[str, ExitRecord], target: str) -> torch.Tensor | None:
    """A linear head over what the trained certainty head reads, fitted afresh (`fit_linear_head`) to `target`
    (`certainty_targets`' "correct" or "agreement") on `validation`, examples the model never trained on: its input
    to the sigmoid at every exit of `test`, `(examples, layers)`. None where validation leaves nothing to learn.
    `features`: `(examples, layers, features)` per split."""
    validation = records["validation"]
    is_regression = validation.exit_logits.shape[-1] == 1
    targets = certainty_targets(validation.exit_logits, validation.labels, is_regression, target)  # (examples, layers)
    fit = fit_linear_head(features["validation"], targets)
    return None if fit is None else fit.logits(features["test"])  # (examples, layers)


def refit_head_auroc(features: dict[str, torch.Tensor], records: dict[str, ExitRecord]) -> list[float]:
    """How well a certainty head could rank right answers over wrong ones, given what the trained head reads: the
    head refitted to each exit's correctness (`refit_head`), then its AUROC per exit on `test` (NaN where validation
    has too few right or wrong answers). Where it stays at the max-softmax's, no linear head over these inputs beats
    the exit's own softmax, however it is trained (classes only)."""
    test = records["test"]
    scores = refit_head(features, records, "correct")
    if scores is None:
        return [math.nan] * test.num_layers
    right = certainty_targets(test.exit_logits, test.labels, False).bool()  # (examples, layers)
    return [auroc(scores[:, layer], right[:, layer]) for layer in range(test.num_layers)]


def refit_head_record(features: dict[str, torch.Tensor], records: dict[str, ExitRecord]) -> ExitRecord | None:
    """`test` as a head refitted to berxit's target, the exits' agreement with the final exit (`refit_head`), would
    score it, for the certainty rule to replay: how many layers a better-trained head over the same inputs could
    save. None where validation leaves nothing to learn."""
    scores = refit_head(features, records, "agreement")
    test = records["test"]
    return None if scores is None else ExitRecord(test.exit_logits, torch.sigmoid(scores), test.labels)


def agreement_oracle(config, record: ExitRecord) -> ExitRecord:
    """`record` as a head that knew each exit's agreement with the final exit would score it: its certainties
    replaced by that agreement itself (`certainty_targets(..., "agreement")`). The certainty rule's curve over it is
    what a head that ranked berxit's target perfectly would save; far above the trained head's, the head's ranking is
    what holds the rule back, not the exits."""
    agreement = certainty_targets(record.exit_logits, None, config.is_regression, "agreement")  # (examples, layers)
    return ExitRecord(record.exit_logits, agreement.float(), record.labels)


def auroc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """The probability that a random positive scores above a random negative (ties count half): Mann-Whitney."""
    positives, negatives = int(positive.sum()), int((~positive).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    from scipy.stats import rankdata

    ranks = torch.from_numpy(rankdata(scores.numpy())).double()  # (examples,), ties get their mean rank
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))
