"""What the GLUE experiment's results say, computed from the runs' JSON: the runs loaded, each run's numbers (final
layer, operating points, curve score, savings against plain fine-tuning, the first useful exit), the targets and
the paper's claims checked task by task, and the gaps over seeds against their spread. Numbers only: the report
(`reporting/results.py`) renders them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...configuration_berxit import BerxitConfig
from ...evaluation.operating_point import most_saved_within, within_drop
from ...evaluation.records import ExitRecord
from ...trainer.recipes import RECIPES
from .definition import (
    CURVE_CLAIM_TASKS,
    DEEBERT_RULE,
    FAST_TASKS,
    HALF_LAYERS_TASK,
    MAX_DROP,
    MIN_SAVED,
    OUR_RULE,
    TASKS,
    VARIANTS,
    record_file_name,
)


def load_runs(results_dir: Path) -> dict[str, dict[str, dict]]:
    """{task: {strategy: run}} for every task folder holding at least one run of the experiment's seed (a folder of
    other seeds only is left to `load_seeded_runs`)."""
    tasks = {}
    folders = [path for path in results_dir.iterdir() if path.is_dir()]
    order = {task: index for index, task in enumerate(TASKS)}
    for task_dir in sorted(folders, key=lambda path: (order.get(path.name, len(TASKS)), path.name)):
        runs = {path.stem: json.loads(path.read_text()) for path in sorted(task_dir.glob("*.json"))}
        variants = {variant: runs[variant] for variant in VARIANTS if variant in runs}
        if variants:
            tasks[task_dir.name] = variants
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


def run_with_records(path: Path) -> tuple[dict, BerxitConfig, dict[str, ExitRecord], dict]:
    """One berxit run of the experiment (its JSON) with its records of validation and test beside it, a config
    that replays its rules (its depth and labels), and what its recipe changes from the paper's."""
    run = json.loads(path.read_text())
    if run.get("strategy", "plain") == "plain":
        raise ValueError(f"runs: {path} is plain fine-tuning; it has no exits to compare.")
    seed = run["hyperparameters"]["seed"]
    files = {split: path.parent / record_file_name(run["strategy"], seed, split) for split in ("validation", "test")}
    missing = [str(file) for file in files.values() if not file.is_file()]
    if missing:
        raise ValueError(f"runs: {path} has no records beside it ({', '.join(missing)}); run berxit-experiments again.")
    records = {split: ExitRecord.load(file) for split, file in files.items()}
    labels = records["test"].exit_logits.shape[-1]
    backbone = {"model_type": "bert", "num_hidden_layers": records["test"].num_layers}  # the rules need only these
    config = BerxitConfig(backbone_config=backbone, num_labels=labels)
    return run, config, records, dict(RECIPES[run.get("recipe", "paper")])


def recipe_name(changes: dict) -> str:
    """A run's changes from the paper's recipe by name: the largest recipe of `RECIPES` they contain, and what they
    change beyond it (`combined + certainty_loss=bce`); "paper" for none."""
    contained = [name for name, recipe in RECIPES.items() if recipe.items() <= changes.items()]
    base = max(contained, key=lambda name: len(RECIPES[name]))  # "paper" ({}) is always contained
    rest = [f"{key}={value}" for key, value in changes.items() if key not in RECIPES[base]]
    if base == "paper":
        return ", ".join(rest) or base
    return " + ".join([base, *rest])


def load_ablations(folder: Path) -> dict[tuple[str, str, str], list[dict]]:
    """The runs of every `berxit-compare-runs` table saved in `folder` (its `*.json`), grouped by task, exit
    strategy and recipe, one run per seed (a run compared in two tables counts once)."""
    groups: dict[tuple[str, str, str], dict] = {}
    for path in sorted(folder.glob("*.json")):
        for run in json.loads(path.read_text()).values():
            if not isinstance(run, dict) or "saved_within" not in run:
                continue  # not a comparison's table (an experiment's run JSON kept beside them)
            key = (run["task"], run["strategy"], recipe_name(run["changes"]))
            groups.setdefault(key, {}).setdefault(run.get("seed"), run)
    return {key: list(by_seed.values()) for key, by_seed in groups.items()}


def num_layers(run: dict) -> int:
    """The model's depth, from its per-exit results (plain runs have none: their backbone's record, if any)."""
    if "per_exit_test" in run:
        return len(run["per_exit_test"])
    return run.get("backbone", {}).get("num_layers")


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
    best = []
    for budget in np.linspace(1.0, num_layers(run), 51):
        fitting = [p[metric] for p in points if p["avg_exit_layer"] <= budget + 1e-9]
        if fitting:
            best.append(max(fitting))
    return float(np.mean(best)) if best else None


def saved_within_reference(run: dict, rule: str, metric: str, reference: float) -> float | None:
    """The most layers the rule's test curve saves while staying within MAX_DROP points of `reference`
    (plain fine-tuning's metric): the curve view, with one yardstick for every strategy."""
    points = run.get("curves_test", {}).get(rule)
    return None if points is None else most_saved_within(points + [run["final"]], reference, metric, MAX_DROP)


def first_good_exit(run: dict | None, metric: str) -> int | None:
    """The first exit whose test metric is within MAX_DROP points of the run's final layer: sending every example
    out there would save `1 - exit / L` of the layers, so it shows what the backbone's layers make possible."""
    if run is None:
        return None
    final = run["final"][metric]
    return next(i + 1 for i, m in enumerate(run["per_exit_test"]) if within_drop(m[metric], final, MAX_DROP))


def seed_gap(first: list[float], second: list[float]) -> dict:
    """How far the mean of `first` lies above the mean of `second`, against the larger of their sample standard
    deviations: a gap inside it cannot be told from seed noise."""
    gap = float(np.mean(first) - np.mean(second))
    spread = float(max(np.std(first, ddof=1), np.std(second, ddof=1)))
    return {"gap": gap, "spread": spread, "within": abs(gap) <= spread}


def claim_checks(tasks: dict[str, dict[str, dict]]) -> dict[str, list[tuple[str, bool]]]:
    """For each target and claim of `definition.CLAIMS`, the tasks it was measured on and whether it holds there."""
    checks = {"close": [], "fast": [], "beats": [], "half": [], "curve": []}
    for task, runs in tasks.items():
        metric = next(iter(runs.values()))["metric"]
        plain, alternating = runs.get("plain"), runs.get("alternating")
        reference = None if plain is None else final_metric(plain, metric)
        if plain and alternating:
            checks["close"].append((task, within_drop(final_metric(alternating, metric), reference, MAX_DROP)))
        ours = saved_at_operating_point(alternating, OUR_RULE)
        deebert = saved_at_operating_point(runs.get("two_stage"), DEEBERT_RULE)
        if ours is not None and plain:
            chosen = alternating["operating_points"][OUR_RULE]["test"]
            keeps = ours >= MIN_SAVED and within_drop(chosen[metric], reference, MAX_DROP)
            if task in FAST_TASKS:
                checks["fast"].append((task, keeps))
            if task == HALF_LAYERS_TASK:
                checks["half"].append((task, keeps))
        if ours is not None and (deebert is not None or alternating["metric"] == "spearman"):
            # On regression DeeBERT's recipe has no exit rule at all: it saves nothing.
            checks["beats"].append((task, ours > (deebert or 0.0)))
        best = best_certainty_curve(runs, metric)
        if best is not None and task in CURVE_CLAIM_TASKS:
            checks["curve"].append((task, best == "alternating"))
    return checks


def best_certainty_curve(runs: dict[str, dict], metric: str) -> str | None:
    """The exit strategy whose certainty curve scores highest, once every exit strategy has run."""
    scores = {s: curve_score(r, OUR_RULE, metric) for s, r in runs.items() if s != "plain"}
    scores = {s: v for s, v in scores.items() if v is not None}
    return max(scores, key=scores.get) if len(scores) == len(VARIANTS) - 1 else None
