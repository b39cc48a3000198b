"""The ablation table of `berxit-compare-runs`: one line per run, what its recipe changes from the paper's, and the
numbers `lab.analysis.run_comparison` computes."""

from __future__ import annotations

from ...evaluation.risk_control import Promise
from ...reporting.tables import markdown_table


def describe_recipe(run: dict) -> str:
    """The recipe column: the strategy when it is not alternating, then the changes; "the paper's" for none."""
    words = [] if run["strategy"] == "alternating" else [f"exit_strategy={run['strategy']}"]
    words += [f"{key}={value}" for key, value in run["changes"].items()]
    return ", ".join(words) or "the paper's"


def render_comparison(runs: dict[str, dict], metric: str, max_drop: float, promise: Promise) -> str:
    """The markdown: a table of the runs, and what each column means."""
    score = "certainty_spearman" if any("certainty_spearman" in run for run in runs.values()) else "certainty_auroc"
    rows = []
    for name, run in runs.items():
        row = {
            "run": name,
            "recipe": describe_recipe(run),
            f"final {metric}": run["final"],
            "each exit": per_exit(run["exits"]),
            f"{score} per exit": per_exit(run[score]),
        }
        if "softmax_auroc" in run:
            row["softmax_auroc per exit"] = per_exit(run["softmax_auroc"])
        if "refit_head_auroc" in run:
            row["refit head auroc per exit"] = per_exit(run["refit_head_auroc"])
        if f"train_{score}" in run:
            row[f"train {score}"] = per_exit(run[f"train_{score}"])
        for rule, saved in run["saved_within"].items():
            row[f"saved within {max_drop:g} pt: {rule}"] = saved
        for rule, point in run["operating_points"].items():
            row[f"certified {rule}: drop, saved"] = f"{100 * point['test_drop']:.1f}, {point['saved_layers']:.3f}"
        rows.append(row)
    tasks = sorted({run["task"] for run in runs.values()})
    return (
        f"Runs on {', '.join(tasks)}, test split. *each exit*: that exit's {metric} when it answers every example. "
        f"*saved within {max_drop:g} pt*: the most layers a setting of the rule saves while the test {metric} stays "
        f"within {max_drop:g} point(s) of the run's final layer (static depth: every example at one exit; agreement "
        f"oracle: the certainty rule scoring each exit by its agreement with the final exit itself, what a head that "
        f"ranked berxit's target perfectly would save). "
        f"*certified*: each rule's operating point chosen on validation ({promise.statement(False)}), its test drop "
        f"in points and the layers it saves. *refit head*: a linear head over what the certainty head reads, fitted "
        f"on validation (examples the model never trained on), ranking test: how far a better-trained head could "
        f"get (classes: its AUROC, fitted to each exit's correctness; regression: the layers the certainty rule saves "
        f"with it, fitted to each exit's agreement with the final exit). *train*: the same ranking on training "
        f"examples the head was fitted on.\n\n{markdown_table(rows)}"
    )


def per_exit(values) -> str:
    """Per-exit numbers as the tables write them: `0.66 / 0.63 / ...`."""
    return " / ".join(f"{value:.2f}" for value in values)
