"""The experiment runner on a sliver of RTE: resumable runs, JSON per run, and the report built from it."""

import json

import pytest
from test_data import GLUE_DIR, needs_glue

from berxit.scripts import experiments


@needs_glue
def test_runs_save_json_resume_and_render(tmp_path, capsys):
    results, report = tmp_path / "results", tmp_path / "RESULTS.md"
    argv = [
        "--glue_dir", str(GLUE_DIR), "--tasks", "rte", "--strategies", "plain,alternating,two_stage",
        "--results_dir", str(results), "--report", str(report), "--max_train_examples", "24",
        "--max_eval_examples", "16", "--epochs", "1", "--max_length", "32",
    ]  # fmt: skip
    experiments.main(argv)
    runs = {path.stem: json.loads(path.read_text()) for path in (results / "rte").glob("*.json")}
    assert set(runs) == {"plain", "alternating", "two_stage"}
    assert 0 <= runs["plain"]["test"]["accuracy"] <= 1
    alternating = runs["alternating"]
    assert len(alternating["per_exit_test"]) == 6
    assert set(alternating["operating_points"]) == {"certainty", "entropy", "patience"}
    assert alternating["hyperparameters"]["learning_rate"] == 2e-5

    experiments.main(argv)  # everything is there: nothing is trained again
    assert capsys.readouterr().out.count("done already") == 3

    text = report.read_text()
    assert "## rte" in text and "| alternating |" in text and "![rte](results/rte.png)" in text
    assert (tmp_path / "results" / "rte.png").is_file()
    report.unlink()
    experiments.main(["--results_dir", str(results), "--report", str(report), "--report_only"])
    assert report.read_text() == text


def test_bad_experiment_arguments():
    with pytest.raises(ValueError, match="unknown \\['qqp'\\]"):
        experiments.main(["--tasks", "qqp", "--glue_dir", "x"])
    with pytest.raises(ValueError, match="glue_dir"):
        experiments.main(["--tasks", "rte"])
