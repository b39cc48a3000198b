"""A recipe of the ablation (#24) end to end on the tiny BERT: berxit-train takes it from the command line and
records it, berxit-sweep and berxit-compare-runs compare it with the paper's."""

import json
import re
import shutil

import pandas as pd
from cli_helpers import one_line_error, train_args

from berxit import BerxitForSequenceClassification
from berxit.lab.scripts import compare_runs
from berxit.scripts import export, sweep, train
from berxit.trainer.recipes import recipe_settings


def assert_one_line_error(capsys, main, argv, expected: str) -> None:
    assert re.search(expected, one_line_error(capsys, main, argv))


PAPER = ["--recipe", "paper"]  # by name: berxit.trainer.recipes
RECIPE = [
    "--certainty_inputs",
    "pooled_and_answer",
    "--certainty_target",
    "agreement",
    "--certainty_loss",
    "bce",
    "--certainty_gradient",
    "head",
    "--distillation_weight",
    "0.5",
    "--distillation_temperature",
    "1.0",
    "--gradient_equilibrium",
    "--certainty_holdout",
    "0.25",
]


def test_a_recipe_is_trained_recorded_and_compared(tiny_bert, reviews_csv, tmp_path, capsys):
    paper, recipe = tmp_path / "paper", tmp_path / "recipe"
    train.main(train_args(tiny_bert, reviews_csv, paper, "--logging_steps", "1", *PAPER))
    capsys.readouterr()
    train.main(train_args(tiny_bert, reviews_csv, recipe, "--logging_steps", "1", *RECIPE))
    assert re.search(r"Certainty head( fitted on 18 held-out|: nothing to fit on 18 held-out)", capsys.readouterr().out)
    model = BerxitForSequenceClassification.from_pretrained(recipe)
    assert model.config.certainty_inputs == "pooled_and_answer"
    run = json.loads((recipe / "berxit_run.json").read_text())
    assert run["objective"] == {
        "certainty_target": "agreement",
        "certainty_loss": "bce",
        "certainty_weight": 1.0,
        "certainty_gradient": "head",
        "distillation_weight": 0.5,
        "distillation_temperature": 1.0,
        "gradient_equilibrium": True,
        "certainty_holdout": 0.25,
    }
    assert run["train_examples"] == 54  # 72 training reviews (90 less test and validation), a quarter held out
    assert run["certainty_fit"]["examples"] == 18  # and the head fitted on that quarter once training ended
    paper_run = json.loads((paper / "berxit_run.json").read_text())
    assert "certainty_fit" not in paper_run  # nothing held out, no fit
    assert paper_run["objective"] == {
        key: value for key, value in recipe_settings("paper").items() if key != "certainty_inputs"
    }
    assert BerxitForSequenceClassification.from_pretrained(paper).config.certainty_inputs == "pooled"
    output = tmp_path / "compared" / "table.md"
    output.parent.mkdir()
    argv = ["--runs", str(paper), "--output", str(output)]
    assert_one_line_error(capsys, compare_runs.main, argv, "runs: .* has no sweep records of validation, test")
    for folder in (paper, recipe):
        sweep.main(["--model_dir", str(folder), "--max_drop", "5"])
    another_seed = tmp_path / "seed43" / "paper"  # the same run name in another folder keeps both
    shutil.copytree(paper, another_seed)
    argv = ["--runs", f"{paper},{recipe},{another_seed}", "--output", str(output), "--train_examples", "8"]
    compare_runs.main(argv)
    table = output.read_text()
    assert "| paper | the paper's |" in table
    assert (
        "| recipe | certainty_inputs=pooled_and_answer, certainty_target=agreement, certainty_loss=bce, "
        "certainty_gradient=head, "
        "distillation_weight=0.5, gradient_equilibrium=True, certainty_holdout=0.25 |" in table
    )
    numbers = json.loads(output.with_suffix(".json").read_text())
    layers = model.config.num_hidden_layers
    assert list(numbers) == ["paper", "recipe", str(another_seed)]
    for name in numbers:
        row = numbers[name]
        assert row["seed"] == 42
        assert len(row["exits"]) == len(row["certainty_auroc"]) == len(row["train_certainty_auroc"]) == layers
        assert len(row["refit_head_auroc"]) == layers
        assert list(row["saved_within"]) == ["static depth", "certainty", "entropy", "patience", "agreement oracle"]
        assert set(row["operating_points"]) == {"certainty", "entropy", "patience"}
    # The model card says how the model was trained and what its certainty head reads.
    export.main(["--model_dir", str(recipe), "--export_dir", str(tmp_path / "export")])
    card = (tmp_path / "export" / "README.md").read_text()
    assert (
        "training (certainty_target=agreement, certainty_loss=bce, certainty_gradient=head, distillation_weight=0.5, "
        "gradient_equilibrium=True, certainty_holdout=0.25)" in card
    )
    assert "the certainty head its pooled vector and answer" in card
    # Going on from a checkpoint keeps its certainty head.
    argv = train_args(tiny_bert, reviews_csv, tmp_path / "on", "--certainty_inputs", "pooled")
    argv[1] = str(recipe)
    assert_one_line_error(capsys, train.main, argv, "certainty_inputs: the berxit checkpoint .* 'pooled_and_answer'")


def test_bad_comparisons_are_named(tiny_bert, reviews_csv, tmp_path, capsys):
    output = ["--output", str(tmp_path / "table.md")]
    assert_one_line_error(capsys, compare_runs.main, ["--runs", " , ", *output], "runs: expected at least one")
    argv = ["--runs", f"{tmp_path},{tmp_path}", *output]
    assert_one_line_error(capsys, compare_runs.main, argv, "runs: .* given twice")
    argv = ["--runs", str(tmp_path), "--train_examples", "-1", *output]
    assert_one_line_error(capsys, compare_runs.main, argv, "train_examples: expected a number of examples >= 0")
    argv = train_args(tiny_bert, reviews_csv, tmp_path / "bad", "--distillation_temperature", "0")
    assert_one_line_error(capsys, train.main, argv, "distillation_temperature: expected a finite number > 0")


def test_a_regression_run_folder_is_compared_with_a_refitted_head_and_the_oracle(tiny_bert, tmp_path):
    scores = tmp_path / "scores.csv"
    texts = [f"pair {i} " + "good " * (i % 5) for i in range(60)]
    pd.DataFrame({"text": texts, "score": [(i % 5) / 2 for i in range(60)]}).to_csv(scores, index=False)
    run = tmp_path / "run"
    data = ["--dataset", str(scores), "--label_column", "score", "--max_length", "16"]
    train.main(["--model_name_or_path", str(tiny_bert), "--output_dir", str(run), *data, "--max_steps", "4"])
    sweep.main(["--model_dir", str(run)])
    output = tmp_path / "table.md"
    compare_runs.main(["--runs", str(run), "--output", str(output), "--train_examples", "0"])
    row = json.loads(output.with_suffix(".json").read_text())["run"]
    # No AUROC for regression: the head refitted on validation shows by the layers the certainty rule saves with it.
    assert list(row["saved_within"]) == ["static depth", "certainty", "refit head", "agreement oracle"]
    assert "refit_head_auroc" not in row and len(row["certainty_spearman"]) == len(row["exits"])
    assert "saved within 1 pt: refit head" in output.read_text()
