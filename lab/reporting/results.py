"""`docs/RESULTS.md` from the experiment JSON: per-task tables, the targets and the paper's claims checked on them,
and one plot per task. Generated, never edited by hand, so it can be rebuilt without retraining."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ...data.glue import GLUE_TASKS
from ...evaluation.curves import static_depth_curve
from ...reporting.plots import plot_curves
from ...reporting.tables import markdown_table
from ...trainer.recipes import RECIPES
from ..experiments.analysis import (
    best_certainty_curve,
    claim_checks,
    curve_score,
    final_metric,
    first_good_exit,
    load_ablations,
    load_runs,
    load_seeded_runs,
    num_layers,
    saved_at_operating_point,
    saved_within_reference,
    seed_gap,
)
from ..experiments.definition import (
    CLAIMS,
    DEEBERT_RULE,
    HYPERPARAMETERS,
    MAX_DROP,
    MIN_SAVED,
    OUR_RULE,
    RULES,
)
from .comparison_table import per_exit


def mean_std(values: list[float]) -> str:
    """`mean ± sample standard deviation`, in points."""
    array = 100 * np.asarray(values, dtype=float)
    return f"{array.mean():.1f} ± {array.std(ddof=1):.1f}"


def render_report(results_dir: Path, report_dir: Path, ablation_dir: Path | None = None) -> str:
    """The report of the runs in `results_dir`; `ablation_dir` holds the same experiment with the other exit
    pooling, compared run by run."""
    tasks = load_runs(results_dir)
    lines = ["# Results: BERxiT on GLUE with MiniLM-L6", "", *setup_lines(results_dir, tasks), ""]
    lines += summary_lines(tasks)
    lines += seed_lines(load_seeded_runs(results_dir))
    if ablation_dir is not None:
        lines += pooling_lines(tasks, load_runs(ablation_dir), ablation_dir)
    lines += recipe_ablation_lines(results_dir.parent / "ablations")
    for task, runs in tasks.items():
        lines += task_lines(task, runs, report_dir, results_dir)
    return "\n".join(lines).rstrip("\n") + "\n"


def points(values: list[float]) -> str:
    """One value in points, or `mean ± sample standard deviation` of several (seeds)."""
    return f"{100 * values[0]:.1f}" if len(values) == 1 else mean_std(values)


def series(runs: list[dict], key: str) -> str:
    """The runs' per-exit `key`, averaged over the runs."""
    return per_exit(np.mean([run[key] for run in runs], axis=0))


def recipe_order(key: tuple[str, str, str]) -> tuple:
    """Rows by task and strategy, then recipe as `RECIPES` lists them (the paper's first), unnamed ones last."""
    task, strategy, recipe = key
    order = list(RECIPES)
    return task, strategy, order.index(recipe) if recipe in order else len(order), recipe


def recipe_ablation_lines(folder: Path) -> list[str]:
    """The certainty head's ablation: each recipe per task, from the `berxit-compare-runs` tables in `folder`,
    mean ± standard deviation over the seeds it ran with."""
    groups = load_ablations(folder)
    if not groups:
        return []
    rows = []
    for (task, strategy, recipe), runs in sorted(groups.items(), key=lambda item: recipe_order(item[0])):
        score = "certainty_spearman" if "certainty_spearman" in runs[0] else "certainty_auroc"
        row = {
            "task": task,
            "recipe": recipe if strategy == "alternating" else f"{recipe} ({strategy})",
            "seeds": ", ".join(str(run.get("seed")) for run in runs),
            "final": points([run["final"] for run in runs]),
            "each exit": " / ".join(f"{100 * m:.1f}" for m in np.mean([run["exits"] for run in runs], axis=0)),
            "certainty ranking per exit": f"{score.split('_')[1]} {series(runs, score)}",
            "max-softmax AUROC per exit": series(runs, "softmax_auroc") if "softmax_auroc" in runs[0] else None,
        }
        for rule in ("certainty", "entropy", "static depth"):
            saved = [run["saved_within"][rule] for run in runs if rule in run["saved_within"]]
            row[f"saved within {MAX_DROP:g} pt: {rule}"] = points(saved) if saved else None
        rows.append(row)
    return [
        "## Ablation of the certainty head",
        "",
        f"Each recipe against the paper's (`make ablations` on the main job, `berxit-experiments --recipe` on GLUE, "
        f"compared by `berxit-compare-runs`; the tables are the JSON in `{folder.as_posix()}`), on the test split, in "
        f"points: the final layer, each exit answering every example, how well the certainty head ranks each exit's "
        f"right answers above its wrong ones (AUROC; Spearman for regression) beside the exit's own max-softmax, and "
        f"the most layers a setting of the rule saves while the test metric stays within {MAX_DROP:g} point of the "
        f"run's final layer (static depth: every example at one exit). Several seeds: mean ± standard deviation. The "
        f"defaults are the combined_held_out recipe (README, *Ablation of the certainty head*).",
        "",
        markdown_table(rows),
    ]


def seed_lines(seeded: dict[str, dict[str, list[dict]]]) -> list[str]:
    """Mean ± standard deviation over seeds of the final layer, the certainty rule's operating point and its curve
    score; then plain against alternating (final layer) and alternating against the other strategies (curve)."""
    if not seeded:
        return []
    rows, verdicts = [], []
    for task, strategies in seeded.items():
        finals, scores = {}, {}
        for strategy, runs in strategies.items():
            metric = runs[0]["metric"]
            finals[strategy] = [final_metric(run, metric) for run in runs]
            points = [run["operating_points"][OUR_RULE]["test"] for run in runs if "operating_points" in run]
            if strategy != "plain":
                scores[strategy] = [curve_score(run, OUR_RULE, metric) for run in runs]
            rows.append(
                {
                    "task": task,
                    "strategy": strategy,
                    "metric": metric,
                    "seeds": ", ".join(str(run["hyperparameters"]["seed"]) for run in runs),
                    "final layer": mean_std(finals[strategy]),
                    "certainty: saved %": mean_std([p["saved_layers"] for p in points]) if len(points) > 1 else None,
                    "certainty: metric": mean_std([p[metric] for p in points]) if len(points) > 1 else None,
                    "certainty: curve score": mean_std(scores[strategy]) if strategy in scores else None,
                }
            )
        if "plain" in finals and "alternating" in finals:
            verdicts.append(
                f"- {task}: plain − alternating, final layer: {gap_verdict(finals['plain'], finals['alternating'])}"
            )
        others = [strategy for strategy in scores if strategy != "alternating"] if "alternating" in scores else []
        for other in others:
            difference = gap_verdict(scores["alternating"], scores[other])
            verdicts.append(f"- {task}: alternating − {other}, certainty curve score: {difference}")
    return [
        "## Over seeds",
        "",
        "The small tasks again at further training seeds (same data splits), as mean ± standard deviation:",
        "",
        markdown_table(rows),
        *verdicts,
        "",
    ]


def gap_verdict(first: list[float], second: list[float]) -> str:
    """`analysis.seed_gap` in words, in points."""
    gap = seed_gap(first, second)
    within = "within" if gap["within"] else "outside"
    return (
        f"{100 * gap['gap']:.1f} points; the larger standard deviation is {100 * gap['spread']:.1f}: {within} one "
        "standard deviation."
    )


def pooling_lines(tasks: dict[str, dict[str, dict]], other: dict[str, dict[str, dict]], other_dir: Path) -> list[str]:
    """Each run against the same run with the other exit pooling (the ablation): final layer, the certainty
    rule's operating point, and every exit's test metric, which shows where exits become useful."""
    rows, exit_rows = [], []
    for task, runs in tasks.items():
        for strategy, run in runs.items():
            twin = other.get(task, {}).get(strategy)
            if strategy == "plain" or twin is None:
                continue
            metric = run["metric"]
            for pooled in (run, twin):
                chosen = pooled["operating_points"][OUR_RULE]["test"]
                label = {
                    "task": task,
                    "strategy": strategy,
                    "exit pooling": pooled.get("exit_pooling", "cls"),
                    "metric": metric,
                }
                rows.append(
                    {
                        **label,
                        "final layer": 100 * pooled["final"][metric],
                        "certainty: saved %": 100 * chosen["saved_layers"],
                        "certainty: metric": 100 * chosen[metric],
                        f"first exit within {MAX_DROP:g} point of final": first_good_exit(pooled, metric),
                    }
                )
                exit_rows.append(
                    {**label, **{f"exit {i + 1}": 100 * m[metric] for i, m in enumerate(pooled["per_exit_test"])}}
                )
    if not rows:
        return []
    return [
        "## Exit pooling: mean against [CLS]",
        "",
        f"The same runs with the other exit pooling (`{other_dir}`): the operating point on test, and each exit's test "
        "metric.",
        "",
        markdown_table(rows, digits=1),
        markdown_table(exit_rows, digits=1),
    ]


def setup_lines(results_dir: Path, tasks: dict[str, dict[str, dict]]) -> list[str]:
    """How the runs were made, every fact read from their JSON (and the experiment's definition)."""
    runs = [run for task_runs in tasks.values() for run in task_runs.values()]
    common = [{key: value for key, value in run["hyperparameters"].items() if key != "seed"} for run in runs]
    hyperparameters = sorted({json.dumps(item, sort_keys=True) for item in common})
    described = "; ".join(
        ", ".join(f"{key} {value}" for key, value in json.loads(item).items()) for item in hyperparameters
    )
    starts = {
        task: run["regression_outputs_start_at"]
        for task, task_runs in tasks.items()
        for run in task_runs.values()
        if "regression_outputs_start_at" in run
    }
    depths = sorted({num_layers(run) for run in runs if num_layers(run)})
    backbone = next((run["backbone"] for run in runs if "backbone" in run), None)
    named = "the packaged MiniLM-L6" if backbone is None else f"the packaged `{backbone['name']}`"
    size = ", ".join(f"{depth} layers" for depth in depths)
    if backbone is not None:
        size += f", hidden {backbone['hidden_size']}"
    smallest = min(
        ((run["examples"]["test"], task) for task, task_runs in tasks.items() for run in task_runs.values()
         if "examples" in run),
        default=None,
    )  # fmt: skip
    noise = "" if smallest is None else f" ({smallest[1]} has {smallest[0]} test examples)"
    cores = sorted({run["machine"]["cpu_count"] for run in runs if "machine" in run})
    machine = "" if not cores else f", to fit the grid on {' or '.join(map(str, cores))} CPU cores"
    metrics = ", ".join(f"{next(iter(task_runs.values()))['metric']} ({task})" for task, task_runs in tasks.items())
    budgets = "1.." + "/".join(map(str, depths)) if depths else "1..L"
    return [
        f"Generated by `berxit-experiments --report_only` from the JSON in `{results_dir}`; rebuild it the same way "
        f"(with `--report` naming this file where it is not that folder's `RESULTS.md`).",
        "",
        f"- Backbone: {named} ({size or 'depth not recorded'}), every strategy from the same weights. `plain` is "
        "transformers' `BertForSequenceClassification` with no exits: the reference.",
        f"- Hyper-parameters (the paper's, SPEC §6), the same for every run: {described or '—'}; seed "
        f"{HYPERPARAMETERS['seed']} (further seeds under *Over seeds*). One seed per run in the tables: a point or "
        f"two between strategies is within seed noise on the small tasks{noise}; where a task was also run at "
        "further seeds, *Over seeds* gives mean ± standard deviation.",
        "- Regression: BERxiT's exits start their outputs at the training labels' mean ("
        + (", ".join(f"{task} {value:.2f}" for task, value in starts.items()) or "no regression run yet")
        + "); from 0, the summed MSE of all exits flattens MiniLM's representation on STS-B"
        + ablation_note(results_dir)
        + ". Plain fine-tuning is left as transformers initialises it.",
        f"- Splits: {split_lines(tasks)}{sst2_line(tasks, machine)}",
        f"- Operating points: {operating_point_line(runs)} Metrics: {metrics}, in points.",
        "- Curve view: the most layers a rule's test curve saves while staying within "
        f"{MAX_DROP:g} point of plain fine-tuning, and the curve score: the test metric averaged over layer budgets "
        f"{budgets} (best point within each budget). Both compare strategies on one yardstick, as the paper's curves "
        "do.",
    ]


def split_lines(tasks: dict[str, dict[str, dict]]) -> str:
    """Where each task's validation and test come from, as `data.glue` makes them, with the copies dropped."""
    held_out = [task for task in tasks if task in GLUE_TASKS and not GLUE_TASKS[task].validation_from_dev]
    from_dev = [task for task in tasks if task in GLUE_TASKS and GLUE_TASKS[task].validation_from_dev]
    parts = []
    if held_out:
        parts.append(f"{', '.join(held_out)}: test = GLUE dev, validation = a seeded 10% of GLUE train held out")
    if from_dev:
        parts.append(
            f"{', '.join(from_dev)}: validation and test = the two seeded halves of GLUE dev (its train holds "
            "phrases of sentences, which leak into a validation split held out of it)"
        )
    dropped = {
        task: run["dropped_duplicates"]
        for task, task_runs in tasks.items()
        for run in task_runs.values()
        if run.get("dropped_duplicates")
    }
    copies = "; ".join(
        f"{task} {', '.join(f'{count} {split}' for split, count in counts.items())}"
        for task, counts in dropped.items()
        if any(counts.values())
    )
    return "; ".join(parts) + "." + (f" Copies of training texts dropped from them: {copies}." if copies else "")


def sst2_line(tasks: dict[str, dict[str, dict]], machine: str) -> str:
    runs = tasks.get("sst2", {})
    trained = sorted({run["train_examples"] for run in runs.values()})
    if not trained:
        return ""
    counts = " or ".join(f"{count:,}" for count in trained)
    return f" SST-2 trains on the first {counts} examples of its shuffled train split{machine}."


def operating_point_line(runs: list[dict]) -> str:
    """How the runs' operating points were chosen, from the promise each recorded."""
    promises = sorted({json.dumps(run["promise"], sort_keys=True) for run in runs if "promise" in run})
    if not promises:
        return (
            "each rule's setting is the one saving the most layers whose validation metric is within "
            f"{MAX_DROP:g} point of the same model's final layer (the chooser before Learn then Test, no guarantee), "
            "measured on test."
        )
    stated = [json.loads(promise) for promise in promises]
    said = "; ".join(
        f"{promise['risk']} at most {100 * promise['epsilon']:g}% with probability {promise['confidence']:g}"
        for promise in stated
    )
    return (
        "each rule's setting is the one saving the most layers among those Learn then Test certifies on validation "
        f"({said}; harm is the share of examples the final layer gets right and the exit gets wrong, which bounds "
        "the drop), measured on test; where none is certified, the final layer answers."
    )


ABLATION = "stsb_alternating_outputs_start_at_0.json"


def ablation_note(results_dir: Path) -> str:
    """The STS-B run whose outputs started at 0, kept beside the results (`<results_dir>/../ablations`)."""
    path = results_dir.parent / "ablations" / ABLATION
    if not path.is_file():
        return ""
    run = json.loads(path.read_text())
    return f" (alternating from 0, final layer: Spearman {100 * run['final']['spearman']:.1f}; `{path}`)"


def summary_lines(tasks: dict[str, dict[str, dict]]) -> list[str]:
    """The targets and the paper's claims, one row per task, then a verdict line each."""
    if not tasks:
        return ["No runs yet.", ""]
    rows = []
    for task, runs in tasks.items():
        metric = next(iter(runs.values()))["metric"]
        plain, alternating = runs.get("plain"), runs.get("alternating")
        gap = None
        if plain and alternating:
            gap = 100 * (final_metric(plain, metric) - final_metric(alternating, metric))
        ours = saved_at_operating_point(alternating, OUR_RULE)
        deebert = saved_at_operating_point(runs.get("two_stage"), DEEBERT_RULE)
        rows.append(
            {
                "task": task,
                "metric": metric,
                "plain": None if plain is None else 100 * final_metric(plain, metric),
                "alternating final": None if alternating is None else 100 * final_metric(alternating, metric),
                "gap to plain": gap,
                "certainty + alternating: saved %": None if ours is None else 100 * ours,
                "entropy + two-stage: saved %": None if deebert is None else 100 * deebert,
                f"alternating: first exit within {MAX_DROP:g} point of its final": first_good_exit(alternating, metric),
                "best certainty curve": best_certainty_curve(runs, metric) or "—",
            }
        )

    def verdict(pairs: list[tuple[str, bool]]) -> str:
        met = [task for task, ok in pairs if ok]
        missed = [task for task, ok in pairs if not ok]
        return (
            f"met on {len(met)} of {len(pairs)} measured ({', '.join(met) or 'none'}; "
            f"missed: {', '.join(missed) or 'none'})"
        )

    depths = sorted({num_layers(run) for runs in tasks.values() for run in runs.values() if num_layers(run)})
    depth = "/".join(map(str, depths)) or "L"
    checks = claim_checks(tasks)
    return [
        "## Summary",
        "",
        markdown_table(rows, digits=1),
        f"The column *first exit within {MAX_DROP:g} point* says where the backbone's exits become useful: with every "
        f"example leaving at exit k, 1 - k/{depth} of the layers are saved. The exits below it are more than a point "
        "behind the final layer (each task's per-exit table), so a rule that keeps within a point can save much more "
        "than that only by sending each example to the exit that happens to be right for it.",
        "",
        *(
            CLAIMS[claim].format(max_drop=MAX_DROP, min_saved=100 * MIN_SAVED, verdict=verdict(pairs))
            for claim, pairs in checks.items()
        ),
        "",
    ]


def task_lines(task: str, runs: dict[str, dict], report_dir: Path, results_dir: Path) -> list[str]:
    """A task's tables, and its plot, saved beside the task's JSON in `results_dir`."""
    metric = next(iter(runs.values()))["metric"]
    plain = runs.get("plain")
    reference = None if plain is None else final_metric(plain, metric)
    lines = [f"## {task}", ""]
    rows = []
    for strategy, run in runs.items():
        row = {"strategy": strategy, f"final-layer {metric}": 100 * final_metric(run, metric)}
        for rule in RULES:
            chosen = run.get("operating_points", {}).get(rule)
            row[f"{rule}: saved %"] = None if chosen is None else 100 * chosen["test"]["saved_layers"]
            row[f"{rule}: {metric}"] = None if chosen is None else 100 * chosen["test"][metric]
        rows.append(row)
    lines += ["Operating points chosen on validation, measured on test:", "", markdown_table(rows, digits=1)]

    exit_rows = [
        {"strategy": strategy, **{f"exit {i + 1}": 100 * m[metric] for i, m in enumerate(run["per_exit_test"])}}
        for strategy, run in runs.items()
        if strategy != "plain"
    ]
    if exit_rows:
        title = f"Each exit's test {metric} (what any rule can get from it):"
        lines += [title, "", markdown_table(exit_rows, digits=1)]

    curve_rows = []
    for strategy, run in runs.items():
        if strategy == "plain":
            continue
        row = {"strategy": strategy}
        for rule in RULES:
            if reference is not None:
                saved = saved_within_reference(run, rule, metric, reference)
                row[f"{rule}: saved % within {MAX_DROP:g} of plain"] = None if saved is None else 100 * saved
            score = curve_score(run, rule, metric)
            row[f"{rule}: curve score"] = None if score is None else 100 * score
        curve_rows.append(row)
    if curve_rows:
        lines += ["Curve view (test):", "", markdown_table(curve_rows, digits=1)]

    alternating = runs.get("alternating")
    if alternating is not None and metric == "spearman":
        chosen = alternating["operating_points"][OUR_RULE]["test"]
        lines += [
            f"Regression: entropy and patience need class probabilities, so neither can exit early here. The certainty "
            f"rule (alternating) saves {100 * chosen['saved_layers']:.1f}% of layers at Spearman "
            f"{100 * chosen['spearman']:.1f} (final layer {100 * alternating['final']['spearman']:.1f}"
            + ("" if reference is None else f", plain fine-tuning {100 * reference:.1f}")
            + ").",
            "",
        ]
    curves = {
        f"{strategy} / {rule}": points
        for strategy, run in runs.items()
        for rule, points in run.get("curves_test", {}).items()
        if rule == OUR_RULE or strategy == "two_stage"
    }
    if curves:
        marked = "alternating" if alternating else next(strategy for strategy, run in runs.items() if "final" in run)
        image = results_dir / f"{task}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(
            curves,
            runs[marked]["final"],
            metric,
            path=image,
            title=f"{task}: test split",
            reference=reference,
            final_label=f"final layer ({marked})",
            static_depth=static_depth_curve(runs[marked]["per_exit_test"]),
            static_depth_label=f"static depth ({marked}: exit k for all)",
        )
        lines += [f"![{task}]({Path(os.path.relpath(image, report_dir)).as_posix()})", ""]
    return lines
