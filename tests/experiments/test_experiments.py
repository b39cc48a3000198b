"""The experiment runner on a sliver of RTE: resumable runs, JSON per run, and the report built from it."""

import json

import pytest
from glue_data import GLUE_DIR, needs_glue

from berxit.evaluation import ExitRecord
from berxit.lab.experiments import analysis
from berxit.lab.reporting import results as results_report
from berxit.lab.scripts import compare_runs, experiments
from berxit.trainer.recipes import RECIPES


@needs_glue
def test_runs_save_json_resume_and_render(tmp_path, capsys):
    results, report = tmp_path / "results", tmp_path / "RESULTS.md"
    argv = [
        "--glue_dir", str(GLUE_DIR), "--tasks", "rte", "--strategies", "plain,alternating,two_stage",
        "--results_dir", str(results), "--report", str(report), "--max_train_samples", "24",
        "--max_eval_samples", "16", "--epochs", "1", "--max_length", "32",
    ]  # fmt: skip
    experiments.main(argv)
    runs = {path.stem: json.loads(path.read_text()) for path in (results / "rte").glob("*.json")}
    assert set(runs) == {"plain", "alternating", "two_stage"}
    assert 0 <= runs["plain"]["test"]["accuracy"] <= 1
    alternating = runs["alternating"]
    assert len(alternating["per_exit_test"]) == 6
    assert set(alternating["operating_points"]) == {"certainty", "entropy", "patience"}
    assert alternating["hyperparameters"]["learning_rate"] == 2e-5
    assert alternating["promise"] == {"risk": "harm", "epsilon": 0.01, "confidence": 0.9}
    assert alternating["operating_points"]["certainty"]["certified"] is False  # 16 examples certify nothing
    records = {path.name for path in (results / "rte").glob("*.npz")}  # to choose again without retraining
    assert records == {
        f"{s}.record_{split}.npz" for s in ("alternating", "two_stage") for split in ("validation", "test")
    }
    assert len(ExitRecord.load(results / "rte" / "alternating.record_test.npz")) == 16

    experiments.main(argv)  # everything is there: nothing is trained again
    assert capsys.readouterr().out.count("done already") == 3

    text = report.read_text()
    # The setup is stated from what the runs recorded, not typed: sizes, machine, hyper-parameters, the promise.
    assert "(rte has 16 test examples)" in text and "adam_epsilon 1e-08" in text and "max_length 32" in text
    assert "harm at most 1% with probability 0.9" in text and "1 - k/6 of the layers" in text
    assert "## rte" in text and "| alternating |" in text and "![rte](results/rte.png)" in text
    assert "## Summary" in text and "Curve view (test):" in text
    assert (tmp_path / "results" / "rte.png").is_file()
    report.unlink()
    experiments.main(["--results_dir", str(results), "--report", str(report), "--report_only"])
    assert report.read_text() == text

    # A recipe of the ablation, in its own results folder, compared with the paper's run from the two JSONs.
    answer = tmp_path / "answer"
    recipe = ["--strategies", "alternating", "--results_dir", str(answer), "--report", str(tmp_path / "A.md")]
    experiments.main([*argv[:4], *argv[10:], *recipe, "--recipe", "answer"])
    assert json.loads((answer / "rte" / "alternating.json").read_text())["recipe"] == "answer"
    experiments.main(["--results_dir", str(answer), "--report_only"])  # by default the report stays in its folder
    assert "from the JSON in" in (answer / "RESULTS.md").read_text() and report.read_text() == text
    table = tmp_path / "compared.md"
    pair = f"{results}/rte/alternating.json,{answer}/rte/alternating.json"
    compare_runs.main(["--runs", pair, "--output", str(table)])
    assert "| results/rte/alternating | the paper's |" in table.read_text()
    assert "| answer/rte/alternating | certainty_inputs=pooled_and_answer |" in table.read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        compare_runs.main(["--runs", f"{results}/rte/plain.json", "--output", str(table)])
    assert "berxit-compare-runs: error: runs: " in capsys.readouterr().err


def test_bad_experiment_arguments(capsys):
    for arguments, expected in {"--tasks qqp --glue_dir x": "unknown ['qqp']", "--tasks rte": "glue_dir"}.items():
        with pytest.raises(SystemExit) as exited:
            experiments.main(arguments.split())
        assert exited.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("berxit-experiments: error: ") and expected in err and len(err.splitlines()) == 1


def synthetic_run(strategy: str, metric: str, final: float, curve: list[tuple[float, float]]) -> dict:
    """A run's JSON with a certainty curve of (avg_exit_layer, metric) points on a 6-layer model."""
    points = [{"avg_exit_layer": layer, "saved_layers": 1 - layer / 6, metric: value} for layer, value in curve]
    final_point = {"avg_exit_layer": 6.0, "saved_layers": 0.0, metric: final}
    chosen = max((p for p in points if p[metric] >= final - 0.01), key=lambda p: p["saved_layers"], default=final_point)
    return {
        "task": "glue/stsb",
        "strategy": strategy,
        "metric": metric,
        "train_examples": 10,
        "hyperparameters": {"learning_rate": 2e-5, "seed": 42},
        "per_exit_test": [{metric: final}] * 6,
        "final": final_point,
        "curves_test": {"certainty": points},
        "operating_points": {"certainty": {"setting": 0.5, "validation": final, "test": chosen}},
    }


def test_report_checks_claims_from_json(tmp_path):
    results = tmp_path / "results"
    (results / "stsb").mkdir(parents=True)
    curve = [(1.0, 0.50), (3.0, 0.84), (4.0, 0.85)]
    runs = {
        "plain": {**synthetic_run("plain", "spearman", 0.85, []), "test": {"spearman": 0.85}},
        "alternating": synthetic_run("alternating", "spearman", 0.85, curve),
    }
    for strategy, run in runs.items():
        (results / "stsb" / f"{strategy}.json").write_text(json.dumps(run))

    text = results_report.render_report(results, tmp_path)
    # 3 of 6 layers saved at 84 against plain's 85: the 40% target and the paper's STS-B claim both hold.
    assert "test metric against plain fine-tuning's): met on 1 of 1 measured (stsb;" in text
    assert "about half the layers (>= 40% saved; certainty, alternating): met on 1 of 1" in text
    assert "so neither can exit early here. The certainty rule (alternating) saves 50.0% of layers" in text
    assert (tmp_path / "results" / "stsb.png").is_file()


def test_curve_score_and_saved_within_reference():
    run = synthetic_run("alternating", "accuracy", 0.80, [(1.0, 0.60), (3.0, 0.78), (6.0, 0.80)])
    # Budgets 1..6 in 51 steps: 0.60 below layer 3, 0.78 from 3, 0.80 at 6 only.
    budgets = [1 + 5 * i / 50 for i in range(51)]
    expected = sum(0.60 if b < 3 else 0.78 if b < 6 else 0.80 for b in budgets) / 51
    assert analysis.curve_score(run, "certainty", "accuracy") == pytest.approx(expected)
    assert analysis.curve_score(run, "entropy", "accuracy") is None
    assert analysis.saved_within_reference(run, "certainty", "accuracy", reference=0.79) == pytest.approx(0.5)
    assert analysis.saved_within_reference(run, "certainty", "accuracy", reference=0.90) is None


def test_report_gives_seeds_as_mean_and_deviation_and_compares_poolings(tmp_path):
    results, cls_results = tmp_path / "mean", tmp_path / "cls"
    for folder in (results / "rte", cls_results / "rte"):
        folder.mkdir(parents=True)
    curve = [(1.0, 0.60), (3.0, 0.66)]
    for seed, (plain, alternating) in {42: (0.66, 0.65), 43: (0.62, 0.64), 44: (0.64, 0.60)}.items():
        name = "" if seed == 42 else f".seed{seed}"
        plain_run = {**synthetic_run("plain", "accuracy", plain, []), "test": {"accuracy": plain}}
        alternating_run = synthetic_run("alternating", "accuracy", alternating, curve)
        for run in (plain_run, alternating_run):
            run["hyperparameters"]["seed"] = seed
        (results / "rte" / f"plain{name}.json").write_text(json.dumps(plain_run))
        (results / "rte" / f"alternating{name}.json").write_text(
            json.dumps({**alternating_run, "exit_pooling": "mean"})
        )
        joint = 0.40 + (seed - 42) / 100  # a curve flat at its final layer: curve score = that metric
        joint_run = synthetic_run("joint", "accuracy", joint, [(1.0, joint)])
        joint_run["hyperparameters"]["seed"] = seed
        (results / "rte" / f"joint{name}.json").write_text(json.dumps(joint_run))
    cls_run = {**synthetic_run("alternating", "accuracy", 0.61, curve), "exit_pooling": "cls"}
    (cls_results / "rte" / "alternating.json").write_text(json.dumps(cls_run))

    text = results_report.render_report(results, tmp_path, cls_results)
    # The seed runs stay out of the single-seed tables and come back as mean ± sample standard deviation.
    assert "| rte | plain | accuracy | 42, 43, 44 | 64.0 ± 2.0 |" in text
    assert "| rte | alternating | accuracy | 42, 43, 44 | 63.0 ± 2.6 |" in text
    assert "- rte: plain − alternating, final layer: 1.0 points; the larger standard deviation is 2.6: within" in text
    # Alternating's curve: 0.60 for budgets below layer 3 (20 of 51), 0.66 from there, at every seed.
    assert "| rte | joint | accuracy | 42, 43, 44 | 41.0 ± 1.0 | 83.3 ± 0.0 | 41.0 ± 1.0 | 41.0 ± 1.0 |" in text
    assert (
        "- rte: alternating − joint, certainty curve score: 22.6 points; the larger standard deviation is 1.0: " in text
    )
    assert "is 1.0: outside one standard deviation." in text
    assert "## Exit pooling: mean against [CLS]" in text
    assert "| rte | alternating | mean | accuracy | 65.0 |" in text
    assert "| rte | alternating | cls | accuracy | 61.0 |" in text


def test_report_gives_the_recipe_ablation_over_seeds(tmp_path):
    results, ablations = tmp_path / "docs" / "results", tmp_path / "docs" / "ablations"
    results.mkdir(parents=True)
    ablations.mkdir()

    def compared(seed: int, changes: dict, final: float, saved: float) -> dict:
        return {
            "task": "reviews",
            "metric": "accuracy",
            "strategy": "alternating",
            "changes": changes,
            "seed": seed,
            "final": final,
            "exits": [0.6, final],
            "certainty_auroc": [0.6, 0.7],
            "softmax_auroc": [0.65, 0.75],
            "saved_within": {"static depth": 0.0, "certainty": saved, "entropy": 0.4, "patience": 0.1},
            "operating_points": {},
        }

    answer = {"certainty_inputs": "pooled_and_answer"}
    (ablations / "reviews.json").write_text(
        json.dumps({"paper": compared(42, {}, 0.80, 0.30), "answer": compared(42, answer, 0.81, 0.44)})
    )
    # Another seed's table; the seed-42 paper run compared again counts once.
    (ablations / "reviews_seed43.json").write_text(
        json.dumps({"paper": compared(43, {}, 0.82, 0.34), "again": compared(42, {}, 0.80, 0.30)})
    )
    (ablations / "reviews.md").write_text("not JSON, not read")
    text = results_report.render_report(results, tmp_path)
    assert "## Ablation of the certainty head" in text
    assert (
        "| reviews | paper | 42, 43 | 81.0 ± 1.4 | 60.0 / 81.0 | auroc 0.60 / 0.70 | 0.65 / 0.75 | 32.0 ± 2.8 |" in text
    )
    assert (
        "| reviews | answer | 42 | 81.0 | 60.0 / 81.0 | auroc 0.60 / 0.70 | 0.65 / 0.75 | 44.0 | 40.0 | 0.0 |" in text
    )
    assert text.index("| reviews | paper |") < text.index("| reviews | answer |")  # the paper's first


def test_a_recipe_is_named_by_the_largest_recipe_it_contains():
    combined = dict(RECIPES["combined"])
    assert analysis.recipe_name({}) == "paper" and analysis.recipe_name(combined) == "combined"
    assert analysis.recipe_name({**combined, "certainty_loss": "bce"}) == "combined + certainty_loss=bce"
    assert analysis.recipe_name({"certainty_weight": 2.0}) == "certainty_weight=2.0"


def test_a_folder_of_other_seeds_only_still_renders(tmp_path):
    (tmp_path / "results" / "stsb").mkdir(parents=True)
    run = synthetic_run("alternating", "spearman", 0.85, [(1.0, 0.50), (6.0, 0.85)])
    run["hyperparameters"]["seed"] = 43
    (tmp_path / "results" / "stsb" / "alternating.seed43.json").write_text(json.dumps(run))
    assert "# Results" in results_report.render_report(tmp_path / "results", tmp_path)
