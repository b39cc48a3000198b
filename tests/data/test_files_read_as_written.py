"""Files read as written (#39): rows end only where lines end, a blank row is named rather than dropped, a long cell
is a cell, and an output is never the input nor replaced without consent, even by a race."""

import pytest

from berxit.artifacts.atomic_files import write_text_atomic
from berxit.data import read_texts

SEPARATORS = {"line separator": "\u2028", "next line": "\u0085", "form feed": "\f", "vertical tab": "\v"}


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".txt", ".jsonl"])
@pytest.mark.parametrize("separator", list(SEPARATORS.values()), ids=list(SEPARATORS))
def test_a_cell_holding_a_separator_stays_one_row(tmp_path, suffix, separator):
    texts = [f"a fine{separator}film", "a dull one", f"and{separator}another"]
    path = tmp_path / f"data{suffix}"
    if suffix == ".jsonl":
        import json

        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    else:
        header = "" if suffix == ".txt" else "text\n"
        path.write_text(header + "\n".join(texts) + "\n", encoding="utf-8")
    _, rows = read_texts(str(path), "text")
    assert [row["text"] for row in rows] == texts


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_rows_end_at_any_line_end(tmp_path, ending):
    path = tmp_path / "data.csv"
    path.write_bytes(ending.join(["text,id", '"two\nlines",1', "plain,2"]).encode() + ending.encode())
    _, rows = read_texts(str(path), "text")
    assert [(row["text"], row["id"]) for row in rows] == [("two\nlines", "1"), ("plain", "2")]


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_a_blank_row_is_named_not_dropped(tmp_path, suffix):
    path = tmp_path / f"data{suffix}"
    path.write_text("text\na fine film\n\na dull one\n\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"input: line 3 of .* is blank"):
        read_texts(str(path), "text")
    path.write_text("text\na fine film\na dull one\n\n\n", encoding="utf-8")  # blank lines at the end: none
    assert len(read_texts(str(path), "text")[1]) == 2


def test_a_long_cell_is_a_cell_and_broken_csv_is_named_by_line(tmp_path):
    path = tmp_path / "data.csv"
    long = "word " * 60_000  # 300 KB, past the csv module's 128 KiB field limit
    path.write_text(f'text\n"{long}"\nshort\n', encoding="utf-8")
    _, rows = read_texts(str(path), "text")
    assert [len(row["text"]) for row in rows] == [len(long), 5]
    path.write_text('text\nfine\n"an unclosed quote swallows the rest\nlast\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"input: line \d+ of .* is not valid CSV"):
        read_texts(str(path), "text")


def test_an_output_is_never_replaced_without_consent_even_by_a_race(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("the first command's answers\n")  # written after the second command checked it was free
    with pytest.raises(ValueError, match="output: .* exists .*; pass --overwrite"):
        write_text_atomic(path, "the second command's\n", replace=False)
    assert path.read_text() == "the first command's answers\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.csv"]  # no temporary file left
    write_text_atomic(path, "replaced\n")
    assert path.read_text() == "replaced\n"


def test_the_input_is_never_the_output(capsys, tmp_path, monkeypatch):
    from cli_helpers import one_line_error

    from berxit.scripts import predict

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reviews.csv").write_text("text\na fine film\n")
    argv = ["--model_dir", "x", "--input", "reviews.csv", "--output", "./reviews.csv", "--overwrite"]
    assert "output: ./reviews.csv is the input" in one_line_error(capsys, predict.main, argv)
    assert (tmp_path / "reviews.csv").read_text() == "text\na fine film\n"


@pytest.mark.parametrize(
    "text", ["a fine film , " * 200_000, "x" * 500_000, "short"], ids=["words", "one word", "short"]
)
def test_a_huge_text_is_cut_before_tokenizing_to_the_same_tokens(minilm_dir, text):
    from transformers import AutoTokenizer

    from berxit.data.tokenizer import shortened

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    (cut,) = shortened(tokenizer, [text], 128)
    assert len(cut) <= 128 * 64 or cut == text
    whole = tokenizer(text, truncation=True, max_length=128)["input_ids"]
    assert tokenizer(cut, truncation=True, max_length=128)["input_ids"] == whole
    premise, hypothesis = shortened(tokenizer, ["a premise"], 128), shortened(tokenizer, [text], 128)
    pair = tokenizer(premise, hypothesis, truncation=True, max_length=128)["input_ids"]
    assert pair == tokenizer(["a premise"], [text], truncation=True, max_length=128)["input_ids"]
