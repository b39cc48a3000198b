"""Helpers of the command-line tests: a small training command on the tiny BERT, and how an error must look."""

import pytest

SMALL_TRAIN = [
    "--max_steps",
    "2",
    "--per_device_train_batch_size",
    "8",
    "--report_to",
    "none",
    "--disable_tqdm",
    "true",
]


def data_args(reviews_csv) -> list[str]:
    return ["--dataset", str(reviews_csv), "--text_column", "review", "--label_column", "verdict", "--max_length", "16"]


def train_args(tiny_bert, reviews_csv, output_dir, *extra) -> list[str]:
    return ["--model_name_or_path", str(tiny_bert), "--output_dir", str(output_dir), *data_args(reviews_csv)] + [
        *SMALL_TRAIN,
        *extra,
    ]


def one_line_error(capsys, main, argv) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    # Progress bars may come first; the error itself is one line, the last.
    assert "Traceback" not in err and sum(": error: " in line for line in err.splitlines()) == 1, err
    return err.splitlines()[-1]


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
