"""What runs are compared by when a training recipe is ablated: on the test split, the final layer, each exit, how
well the certainty head ranks each exit's right answers above its wrong ones (beside the max-softmax), the most
layers each rule's curve saves within a drop of the final layer, beside static depth (every example answered at
one exit, which any user gets by truncating) and beside what a head that knew each exit's agreement with the final
exit would save (a perfect ranking of berxit's target), and each rule's certified operating point."""

from __future__ import annotations

import torch

from ...evaluation.curves import curve, evaluate_setting, static_depth_curve
from ...evaluation.exit_quality import agreement_oracle, exit_quality, refit_head_auroc, refit_head_record
from ...evaluation.operating_point import find_operating_point, most_saved_within
from ...evaluation.records import ExitRecord
from ...evaluation.risk_control import Promise
from ...exit_rules.rules import rules_for


def compare_run(
    config,
    records: dict[str, ExitRecord],
    metric: str,
    promise: Promise,
    max_drop: float,
    features: dict[str, torch.Tensor] | None = None,
) -> dict:
    """One run's numbers from its records (`validation` and `test`, and `train` where the caller recorded part of
    the training split, to see whether the certainty head ranks the answers it was fitted on better). Given what
    the certainty head read on validation and test (`features`), also how far a better-trained head could get: a
    linear head over them fitted on validation, by how it ranks test (`refit_head_auroc`, classes) and by the layers
    the certainty rule saves with it (`refit_head_record`, regression, where no AUROC applies)."""
    test = records["test"]
    final = evaluate_setting(config, test, None)
    quality = exit_quality(config, test)
    score = "certainty_spearman" if config.is_regression else "certainty_auroc"
    static = static_depth_curve(quality)
    row = {
        "final": final[metric],
        "exits": [q[metric] for q in quality],
        score: [q[score] for q in quality],
        "saved_within": {"static depth": most_saved_within(static + [final], final[metric], metric, max_drop)},
        "operating_points": {},
    }
    if not config.is_regression:
        row["softmax_auroc"] = [q["softmax_auroc"] for q in quality]
    if features is not None and not config.is_regression:
        row["refit_head_auroc"] = refit_head_auroc(features, records)
    if "train" in records:
        row[f"train_{score}"] = [q[score] for q in exit_quality(config, records["train"])]
    calibrated = {split: records[split] for split in ("validation", "test")}
    for rule in rules_for(config):
        point = find_operating_point(config, calibrated, rule, metric, promise)
        row["saved_within"][rule] = most_saved_within(
            point["curves"]["test"] + [final], final[metric], metric, max_drop
        )
        on_test = point["on_test"]
        row["operating_points"][rule] = {
            "setting": point["chosen"]["setting"],
            "test_drop": final[metric] - on_test[metric],
            "saved_layers": on_test["saved_layers"],
        }
    if features is not None and config.is_regression:
        refit = refit_head_record(features, records)
        saved = None if refit is None else saved_by_certainty(config, refit, final, metric, max_drop)
        row["saved_within"]["refit head"] = saved
    row["saved_within"]["agreement oracle"] = saved_by_certainty(
        config, agreement_oracle(config, test), final, metric, max_drop
    )
    return row


def saved_by_certainty(config, record: ExitRecord, final: dict, metric: str, max_drop: float) -> float | None:
    """The most layers the certainty rule's curve over `record`'s certainties saves within `max_drop` points of the
    final layer (`final`)."""
    return most_saved_within(curve(config, record, "certainty") + [final], final[metric], metric, max_drop)
