"""The second round of a new user's cases: nothing a user has is lost, nothing they gave comes back changed, and
every mistake is one line naming the argument (not a traceback)."""

import json
import os
import re
import shutil
import stat

import pandas as pd
import pytest
from cli_helpers import SMALL_TRAIN, one_line_error, snapshot, train_args
from transformers import AutoTokenizer

from berxit import BerxitForSequenceClassification
from berxit.scripts import export, predict, sweep, train
from berxit.serving.predictions import predict as predict_texts

# Lost: an export never writes into, over or above the run it reads.


@pytest.mark.parametrize("where", ["the run", "above the run", "inside the run", "the sweep"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_an_export_never_replaces_the_run_it_reads(capsys, tmp_path, finished_run, where, overwrite):
    runs = tmp_path / "runs"
    model_dir = runs / "rt"
    shutil.copytree(finished_run, model_dir)
    (runs / "sibling").mkdir()
    (runs / "sibling" / "keep.txt").write_text("another run")
    export_dir = {
        "the run": model_dir,
        "above the run": runs,
        "inside the run": model_dir / "exported",
        "the sweep": model_dir / "sweep",
    }[where]
    before = snapshot(runs)
    argv = ["--model_dir", str(model_dir), "--export_dir", str(export_dir)] + (["--overwrite"] if overwrite else [])
    err = one_line_error(capsys, export.main, argv)
    assert "export_dir: " in err and "it exports from" in err, err
    assert snapshot(runs) == before


def test_an_export_replaces_only_an_earlier_export_and_only_when_told(capsys, tmp_path, finished_run):
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    argv = ["--model_dir", str(finished_run), "--export_dir"]
    for flags in ([], ["--overwrite"]):
        err = one_line_error(capsys, export.main, [*argv, str(other), *flags])
        assert "holds files that are not a berxit export" in err
    assert (other / "notes.txt").read_text() == "mine"
    export.main([*argv, str(tmp_path / "export")])
    assert "pass --overwrite to replace it" in one_line_error(capsys, export.main, [*argv, str(tmp_path / "export")])
    export.main([*argv, str(tmp_path / "export"), "--overwrite"])


def test_the_card_describes_what_the_config_serves(capsys, tmp_path, finished_run):
    model_dir = tmp_path / "model"
    shutil.copytree(finished_run, model_dir)
    # A second sweep elsewhere writes its rule into config.json; the default sweep folder no longer describes it.
    elsewhere = ["--output_dir", str(tmp_path / "patience"), "--chooser", "largest_within_drop", "--max_drop", "5"]
    sweep.main(["--model_dir", str(model_dir), "--rule", "patience", *elsewhere])
    argv = ["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "export")]
    err = one_line_error(capsys, export.main, argv)
    assert "sweep_dir: " in err and "serves patience" in err, err
    export.main([*argv, "--sweep_dir", str(tmp_path / "patience")])
    marker = json.loads((tmp_path / "export" / "berxit_export.json").read_text())
    config = json.loads((tmp_path / "export" / "config.json").read_text())
    assert marker["rule"] == config["exit_rule"] == "patience" and marker["setting"] == config["patience"]


def test_published_files_follow_the_umask(tmp_path, finished_run):
    old = os.umask(0o022)
    try:
        export.main(["--model_dir", str(finished_run), "--export_dir", str(tmp_path / "export")])
    finally:
        os.umask(old)
    export_dir = tmp_path / "export"
    assert stat.S_IMODE(export_dir.stat().st_mode) == 0o755
    for name in ("README.md", "berxit_export.json", "config.json"):
        assert stat.S_IMODE((export_dir / name).stat().st_mode) == 0o644, name


# Silently changed: what the user gave comes back as given.

AWKWARD_CELLS = {
    "id": ["00123", "007", "1e5", "TRUE", "", "9223372036854775807123"],
    "text": ['"quoted" at the start', "123", "NA", "null", "a fine film", "a dull , awful film"],
}


def csv_cell(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if "," in cell or '"' in cell else cell


def written_csv(path, columns: dict, delimiter: str = ",") -> None:
    header = list(columns)
    lines = [delimiter.join(header)]
    for row in zip(*columns.values(), strict=True):
        cells = [
            cell if delimiter == "\t" or "," not in cell and '"' not in cell else '"' + cell.replace('"', '""') + '"'
            for cell in row
        ]
        lines.append(delimiter.join(cells))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("suffix", "delimiter"), [(".csv", ","), (".tsv", "\t"), (".TSV", "\t")])
@pytest.mark.parametrize("output", ["out.csv", "out.jsonl"])
def test_predictions_pass_every_cell_through_as_written(tmp_path, finished_run, suffix, delimiter, output):
    source = tmp_path / f"in{suffix}"
    written_csv(source, AWKWARD_CELLS, delimiter)
    predict.main(["--model_dir", str(finished_run), "--input", str(source), "--output", str(tmp_path / output)])
    if output.endswith(".csv"):
        rows = pd.read_csv(tmp_path / output, dtype=str, keep_default_na=False).to_dict(orient="records")
    else:
        rows = [json.loads(line) for line in (tmp_path / output).read_text().splitlines()]
    assert [row["id"] for row in rows] == AWKWARD_CELLS["id"]
    assert [row["text"] for row in rows] == AWKWARD_CELLS["text"]


def test_json_lines_come_back_with_their_values_as_written(tmp_path, finished_run):
    source = tmp_path / "in.jsonl"
    lines = [
        '{"text": "a fine film", "id": 1e5, "tags": ["a", 2], "meta": {"n": 7.50}, "note": null}',
        '{"text": "a dull film", "id": 0, "tags": [], "meta": {}, "note": "NA"}',
    ]
    source.write_text("\n".join(lines) + "\n")
    for output in ("out.jsonl", "out.csv"):
        predict.main(["--model_dir", str(finished_run), "--input", str(source), "--output", str(tmp_path / output)])
    written = (tmp_path / "out.jsonl").read_text().splitlines()
    assert '"id": 1e5' in written[0] and '"tags": ["a", 2]' in written[0] and '"note": null' in written[0]
    assert '"meta": {"n": 7.50}' in written[0]
    first = json.loads(written[0])
    assert first["meta"] == {"n": 7.5} and first["predicted_label"] in ("up", "down")
    table = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert table["id"].tolist() == ["1e5", "0"] and table["tags"].tolist() == ['["a", 2]', "[]"]
    assert table["note"].tolist() == ["", "NA"]


def test_training_reads_a_tsv_as_written(tmp_path, tiny_bert):
    texts = [f'"{i} quoted start' if i % 5 == 0 else f"plain {i}" for i in range(60)]
    source = tmp_path / "train.tsv"
    written_csv(source, {"sentence": texts, "label": [str(i % 2) for i in range(60)]}, "\t")
    from berxit.data import load_task

    task = load_task(str(source), text_column="sentence")
    seen = sorted(t for split in task.splits.values() for t in split["text"])
    assert seen == sorted(texts) and task.num_labels == 2


def test_a_sweep_refuses_data_changed_since_training(capsys, tmp_path, tiny_bert, reviews_csv):
    data = tmp_path / "reviews.csv"
    shutil.copyfile(reviews_csv, data)
    model_dir = tmp_path / "model"
    train.main(train_args(tiny_bert, data, model_dir))
    with data.open("a") as f:
        f.write("an appended review,up\n")
    err = one_line_error(capsys, sweep.main, ["--model_dir", str(model_dir)])
    assert "dataset: the " in err and "differ from those the run was trained with" in err, err
    assert not (model_dir / "sweep").exists()


def test_a_relative_dataset_path_is_found_from_anywhere(tmp_path, tiny_bert, reviews_csv, monkeypatch):
    (tmp_path / "work").mkdir()
    shutil.copyfile(reviews_csv, tmp_path / "work" / "reviews.csv")
    monkeypatch.chdir(tmp_path / "work")
    model_dir = tmp_path / "model"
    train.main(train_args(tiny_bert, "reviews.csv", model_dir))
    recorded = json.loads((model_dir / "berxit_run.json").read_text())["data"]["dataset"]
    assert recorded == str(tmp_path / "work" / "reviews.csv")
    monkeypatch.chdir(tmp_path)
    sweep.main(["--model_dir", str(model_dir), "--chooser", "largest_within_drop", "--max_drop", "5"])


def test_another_rule_needs_its_own_threshold(capsys, tmp_path, finished_run):
    config = json.loads((finished_run / "config.json").read_text())
    assert config["exit_rule"] == "certainty" and config["exit_threshold"] is not None
    source = tmp_path / "in.csv"
    written_csv(source, {"text": ["a fine film", "a dull film"]})
    argv = ["--model_dir", str(finished_run), "--input", str(source), "--output", str(tmp_path / "out.csv")]
    err = one_line_error(capsys, predict.main, [*argv, "--rule", "entropy"])
    assert "threshold: the 'entropy' rule needs a threshold of its own" in err
    predict.main([*argv, "--rule", "entropy", "--threshold", "0.5"])


# One clear line where a traceback was.


def damaged_model(folder, finished_run):
    shutil.copytree(finished_run, folder)
    config = json.loads((folder / "config.json").read_text())
    config["backbone_config"]["hidden_size"] = 48
    (folder / "config.json").write_text(json.dumps(config))


def no_tokenizer(folder, finished_run):
    shutil.copytree(finished_run, folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)


PREDICT_CASES = [
    ("ragged csv", "in.csv", "text,id\na fine film,1\na dull film,2,3\n", None, "input: line 3 of .* has 3 fields"),
    ("broken json line", "in.jsonl", '{"text": "fine"}\n{"text": "dull"\n', None, "input: line 2 of .* not valid JSON"),
    ("a folder as input", "folder.csv", None, None, "input: .* is a folder"),
    ("sizes edited", "in.csv", "text\na fine film\n", damaged_model, "the sizes in the config of .* disagree"),
    ("no tokenizer", "in.csv", "text\na fine film\n", no_tokenizer, "model_dir: .* holds no tokenizer"),
]


@pytest.mark.parametrize(
    ("name", "file", "content", "damage", "message"), PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES]
)
def test_bad_predictions_are_one_line(capsys, tmp_path, finished_run, name, file, content, damage, message):
    source = tmp_path / file
    if content is None:
        source.mkdir()
    else:
        source.write_text(content)
    model_dir = finished_run
    if damage is not None:
        model_dir = tmp_path / "model"
        damage(model_dir, finished_run)
    argv = ["--model_dir", str(model_dir), "--input", str(source), "--output", str(tmp_path / "out.csv")]
    err = one_line_error(capsys, predict.main, argv)
    assert re.search(message, err), err
    assert not (tmp_path / "out.csv").exists()


def test_text_files_and_new_output_folders_just_work(tmp_path, finished_run):
    source = tmp_path / "lines.txt"
    source.write_text("a fine film\n123\nNA\n")
    output = tmp_path / "new" / "folder" / "out.jsonl"
    predict.main(["--model_dir", str(finished_run), "--input", str(source), "--output", str(output)])
    assert [json.loads(line)["text"] for line in output.read_text().splitlines()] == ["a fine film", "123", "NA"]


@pytest.mark.parametrize("record", ["berxit_run.json", "sweep/operating_point.json"])
def test_a_truncated_record_is_named(capsys, tmp_path, finished_run, record):
    model_dir = tmp_path / "model"
    shutil.copytree(finished_run, model_dir)
    path = model_dir / record
    path.write_text(path.read_text()[:20])
    err = one_line_error(capsys, export.main, ["--model_dir", str(model_dir), "--export_dir", str(tmp_path / "e")])
    assert f"{path} is damaged" in err, err


TRAIN_CASES = [
    (["--label_column", "review"], "label_column: 'review' is also the text_column"),
    (["--max_length", "600"], "max_length: 600 tokens exceed the backbone's limit of 512 positions"),
]


@pytest.mark.parametrize(("extra", "message"), TRAIN_CASES, ids=[c[1].split(":")[0] for c in TRAIN_CASES])
def test_bad_training_data_is_one_line(capsys, tmp_path, tiny_bert, reviews_csv, extra, message):
    err = one_line_error(capsys, train.main, train_args(tiny_bert, reviews_csv, tmp_path / "never", *extra))
    assert message in err, err
    assert not (tmp_path / "never").exists()


def test_texts_that_look_like_values_are_texts(tmp_path, tiny_bert):
    source = tmp_path / "data.csv"
    texts = ["123", "NA", "null", "nan", "00"] * 12
    written_csv(source, {"text": texts, "label": ["a", "b"] * 30})
    from berxit.data import load_task

    task = load_task(str(source))
    kept = [t for split in task.splits.values() for t in split["text"]]  # held-out copies of train are dropped
    assert set(kept) == set(texts) and len(kept) + sum(task.dropped_duplicates.values()) == len(texts)
    assert task.label_names == ["a", "b"]
    train.main(
        [
            "--model_name_or_path",
            str(tiny_bert),
            "--output_dir",
            str(tmp_path / "m"),
            "--dataset",
            str(source),
            *SMALL_TRAIN,
        ]
    )


def test_predict_takes_any_iterable_and_names_an_empty_one(finished_run):
    model = BerxitForSequenceClassification.from_pretrained(finished_run).eval()
    tokenizer = AutoTokenizer.from_pretrained(finished_run)
    with pytest.raises(ValueError, match="texts: expected at least one text, got none"):
        predict_texts(model, tokenizer, [])
    rows = predict_texts(model, tokenizer, (text for text in ["a fine film", "a dull film"]), show_progress=False)
    assert len(rows) == 2
