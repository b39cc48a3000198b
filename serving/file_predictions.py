"""Predictions for a file of any size: rows read as they come, answered a chunk at a time by the layer-queue
scheduler, and written in input order to a partial file beside the output. After every chunk the partial file is
flushed to disk and its progress recorded beside it, so a killed run goes on from there (`resume`); the output is
published whole at the end, and never half-written. Each chunk starts the scheduler afresh, so a resumed run batches
every row as an uninterrupted one does and writes the same bytes. Under torchrun the processes share each round of
chunks (`serving.sharding`), and the first writes them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..artifacts.atomic_files import default_mode, publish_file, read_json, write_text_atomic
from ..data.input_files import cell_text, json_text
from .predictions import predict
from .sharding import Shards

CHUNK_ROWS = 8192  # rows answered between durable points: memory holds one chunk, a kill loses at most one
# The columns added to the input's: `predict`'s keys, with the label named as a prediction.
COLUMNS = {"label": "predicted_label", "score": "score", "exit_layer": "exit_layer", "certainty": "certainty"}


@dataclass
class FileSummary:
    """What a run wrote: every row of the output, and the exits of those this run answered (not a resumed run's
    earlier rows)."""

    rows: int
    answered: int
    exit_layers: int  # their sum

    @property
    def average_exit_layer(self) -> float:
        return self.exit_layers / max(self.answered, 1)


@dataclass
class Progress:
    """How far a partial output got, and what made it: a resume must be made the same way."""

    rows: int  # rows written and flushed
    size: int  # the partial file's length in bytes after them
    made_with: dict  # what the answers depend on: input, model, rule and setting, text columns, output format


def partial_paths(output: Path) -> tuple[Path, Path]:
    """The partial output and its progress record, hidden beside `output`."""
    return output.with_name(f".{output.name}.partial"), output.with_name(f".{output.name}.progress.json")


def predict_file(
    model,
    tokenizer,
    rows: Iterable[dict],
    *,
    columns: list[str],
    output: Path,
    text_column: str,
    text_pair_column: str | None,
    made_with: dict,
    resume: bool = False,
    overwrite: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    shards: Shards | None = None,
    **settings,
) -> FileSummary:
    """Answers every row of `rows` into `output` (`.csv` or `.jsonl`: the input's `columns` plus `COLUMNS`).
    `made_with` says what the answers depend on (a resume is refused where any of it changed); `settings` go to
    `serving.predictions.predict` (batch size, max length, window, rule, threshold, patience); `progress(n)` is
    called with the rows done after each chunk (a progress bar's update). With `shards` (several processes under
    torchrun) each process answers its chunk of every round and process 0 writes the output; the others return an
    empty summary."""
    shards = shards or Shards()
    partial, record = partial_paths(output)
    # Process 0 owns the output; the others learn where it starts (or why it cannot).
    try:
        done = _start(partial, record, made_with, resume, overwrite, output) if shards.writes else None
        refused = None
    except ValueError as error:
        done, refused = None, str(error)
    start, refused = shards.broadcast((None if done is None else done.rows, refused))
    if refused is not None:
        raise ValueError(refused)
    header = columns + list(COLUMNS.values())
    as_csv = output.suffix.lower() == ".csv"
    answered = exit_layers = 0
    with open(partial, "r+b" if done.rows else "wb") if shards.writes else contextlib.nullcontext() as file:
        if shards.writes:
            file.truncate(done.size)  # what a killed run wrote after its last durable point goes
            file.seek(done.size)
            if not done.rows:
                file.write(_csv_lines([header]) if as_csv else b"")
        if progress is not None and start:
            progress(start)
        remaining = itertools.islice(iter(rows), start, None)
        while True:
            # One round: a chunk for each process (every process reads them all, answers its own).
            chunks = [chunk for _ in range(shards.world) if (chunk := list(itertools.islice(remaining, chunk_rows)))]
            if not chunks:
                break
            mine = chunks[shards.rank] if shards.rank < len(chunks) else []
            answers = _answer(model, tokenizer, mine, text_column, text_pair_column, settings)
            gathered = shards.gather(answers)
            if not shards.writes:
                continue
            for chunk, answers in zip(chunks, gathered, strict=False):
                table = [
                    {**row, **{name: answer[key] for key, name in COLUMNS.items()}}
                    for row, answer in zip(chunk, answers, strict=True)
                ]
                if as_csv:
                    file.write(_csv_lines([[cell_text(row.get(name)) for name in header] for row in table]))
                else:
                    file.write("".join(json_text(row) + "\n" for row in table).encode("utf-8"))
                exit_layers += sum(answer["exit_layer"] for answer in answers)
            file.flush()
            os.fsync(file.fileno())
            rows_done = sum(map(len, chunks))
            done = Progress(done.rows + rows_done, file.tell(), made_with)
            write_text_atomic(record, json.dumps(asdict(done), indent=1))
            answered += rows_done
            if progress is not None:
                progress(rows_done)
    if not shards.writes:
        return FileSummary(0, 0, 0)
    if not done.rows:
        partial.unlink()
        raise ValueError("input: no rows to predict.")
    os.chmod(partial, default_mode(output))
    publish_file(partial, output, replace=overwrite)
    record.unlink()
    return FileSummary(done.rows, answered, exit_layers)


def _answer(model, tokenizer, chunk: list[dict], text_column: str, text_pair_column: str | None, settings) -> list:
    if not chunk:
        return []
    texts = [row[text_column] for row in chunk]
    pairs = None if text_pair_column is None else [row[text_pair_column] for row in chunk]
    return predict(model, tokenizer, texts, text_pairs=pairs, show_progress=False, **settings)


def _start(partial: Path, record: Path, made_with: dict, resume: bool, overwrite: bool, output: Path) -> Progress:
    """Where to begin: nothing written, or (resuming) the recorded progress of a run made the same way."""
    if not resume:
        if record.exists():
            rows = read_json(record, "resume")["rows"]
            raise ValueError(
                f"resume: {output} has a partial run ({rows} rows written); pass --resume to go on from there, or "
                f"delete {partial} and {record} to start over."
            )
        return Progress(0, 0, made_with)
    if not record.exists() or not partial.exists():
        raise ValueError(f"resume: {output} has no partial run to go on from; run without --resume.")
    saved = read_json(record, "resume")
    before = saved["made_with"]
    changed = sorted(key for key in {*before, *made_with} if before.get(key) != made_with.get(key))
    if changed:
        raise ValueError(
            f"resume: the partial run of {output} was made with another {', '.join(changed)}; resume with the same "
            f"arguments, or delete {partial} and {record} to start over."
        )
    if partial.stat().st_size < saved["size"]:
        raise ValueError(f"resume: {partial} is shorter than its record says; delete it and {record} to start over.")
    if output.exists() and not overwrite:
        raise ValueError(f"output: {output} exists; pass --overwrite to replace it.")
    return Progress(saved["rows"], saved["size"], made_with)


def _csv_lines(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
