"""Data files read as written: a CSV or TSV cell is the text in the file, a JSON value the value in it.

No type guessing (`00123` stays `00123`, `NA` is a text), a TSV has no quoting (a field may start with `"`), and
numbers in JSON keep the digits they were written with, so that rows passed through `berxit-predict` come back
byte for byte. A file that cannot be read as a table (ragged rows, a broken JSON line) is refused with its line.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from datasets import Dataset

DATA_FILE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".txt")
TEXT_FILE_COLUMN = "text"  # a .txt file holds one text per line, read as this column
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
LINE_END = re.compile(r"\r\n|\r|\n")  # where a line ends; U+2028, U+0085 or a form feed inside a cell do not
csv.field_size_limit(sys.maxsize)  # a long review is a cell like any other (the csv module stops at 128 KiB)


class RawNumber(str):
    """A JSON number as written in the file (`1e5`, `007.0`): text to pass through, a number where one is needed."""

    def value(self) -> int | float:
        return int(self) if WHOLE_NUMBER.fullmatch(self) else float(self)


def is_data_file(name: str) -> bool:
    """Whether `name` names a data file by its suffix (any case: `data.TSV` too)."""
    return Path(name).suffix.lower() in DATA_FILE_SUFFIXES


def table_dataset(rows: list[dict], columns: list[str], label_column: str | None = None) -> Dataset:
    """A `Dataset` of `columns` of `rows`: text columns as text (a JSON number as its digits, anything else that
    is not text as None), the label column as numbers where every cell is one, else as text."""
    data = {}
    for column in columns:
        cells = [row.get(column) for row in rows]
        data[column] = _labels(cells) if column == label_column else [_text(cell) for cell in cells]
    return Dataset.from_dict(data)


def cell_text(value) -> str:
    """A value as one CSV cell: text as it is, a JSON value as JSON, nothing as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json_text(value)


def json_text(value) -> str:
    """A value as JSON, with numbers read from a file as they were written and non-finite floats as null."""
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_text(str(key))}: {json_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class DataFile:
    """A data file read as it goes: its columns and row count come from one pass that checks every row, and each
    iteration reads its rows again, so memory does not grow with the file (a JSON list, one document, is parsed
    whole). Rows are dicts of cells as written."""

    path: Path
    argument: str
    columns: list[str]
    num_rows: int

    def __iter__(self) -> Iterator[dict]:
        for _, row in _rows(self.path, self.argument):
            if row is not None:
                yield row


def open_data_file(path: Path, argument: str) -> DataFile:
    """A CSV, TSV, JSON (a list of objects), JSON Lines or text file, checked whole (one pass): refused with its
    line where it cannot be read as a table."""
    if path.is_dir():
        raise ValueError(f"{argument}: {path} is a folder; expected a data file ({', '.join(DATA_FILE_SUFFIXES)}).")
    if not path.is_file():
        raise FileNotFoundError(f"{argument}: no such file {path}.")
    columns: dict[str, None] = {}
    read_any, count = False, 0
    for names, row in _rows(path, argument):
        read_any = True
        columns.update(dict.fromkeys(names))
        count += row is not None
    if not read_any:
        raise ValueError(f"{argument}: {path} is empty.")
    if not count:
        what = "no records" if path.suffix.lower() in (".json", ".jsonl") else "a header and no rows"
        raise ValueError(f"{argument}: {path} holds {what}.")
    return DataFile(path, argument, list(columns), count)


def read_table(path: Path, argument: str) -> tuple[list[str], list[dict]]:
    """The columns and rows of a data file, all in memory (what training reads)."""
    table = open_data_file(path, argument)
    return table.columns, list(table)


def _lines(path: Path, argument: str) -> Iterator[tuple[int, str]]:
    """Each line of `path` with its line end, numbered from 1: split where a line ends (`\\n`, `\\r\\n`, `\\r`)
    and nowhere else (a cell may hold U+2028, U+0085 or a form feed), decoded as UTF-8."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            yield from enumerate(file, 1)
    except UnicodeDecodeError:
        offset, byte, line = _first_undecodable(path)
        raise ValueError(
            f"{argument}: {path} is not UTF-8 text (byte {byte:#04x} at offset {offset}, line {line}); save it as "
            "UTF-8."
        ) from None


def _first_undecodable(path: Path) -> tuple[int, int, int]:
    """Where `path` stops being UTF-8: the byte's offset, the byte, its line (read a block at a time)."""
    decoder, offset, line_ends = codecs.getincrementaldecoder("utf-8")(), 0, 0
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                start = max(error.start - len(error.object) + len(block), 0)
                before = block[:start]
                line_ends += len(LINE_END.findall(before.decode("utf-8", "replace")))
                return offset + start, block[start], line_ends + 1
            line_ends += len(LINE_END.findall(block.decode("utf-8", "replace")))
            offset += len(block)
    return offset, 0, line_ends + 1


def _rows(path: Path, argument: str) -> Iterator[tuple[list[str], dict | None]]:
    """Each row of the file with the columns it names, checked as it is read; a table's header comes first, with
    no row (None), and a JSON list with no records gives only that."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        for _, line in _lines(path, argument):
            if line.strip():
                yield [TEXT_FILE_COLUMN], {TEXT_FILE_COLUMN: line.rstrip("\r\n")}
    elif suffix in (".csv", ".tsv"):
        yield from _delimited_rows(path, argument, tabs=suffix == ".tsv")
    else:
        yield from _json_rows(path, argument)


def _delimited_rows(path: Path, argument: str, tabs: bool) -> Iterator[tuple[list[str], dict | None]]:
    lines = _lines(path, argument)
    if tabs:  # no quoting: every line is its fields as written
        records = ((number, line.rstrip("\r\n").split("\t")) for number, line in lines)
    else:
        reader = csv.reader((line for _, line in lines), strict=True)  # records end where lines end, or quotes do

        def parsed():
            try:
                for fields in reader:
                    yield reader.line_num, fields
            except csv.Error as error:
                raise ValueError(
                    f"{argument}: line {reader.line_num + 1} of {path} is not valid CSV ({error})."
                ) from None

        records = parsed()
    header, blank = None, None
    for number, fields in records:
        if not any(field.strip() for field in fields):
            blank = blank or number  # blank lines at the end of the file are none; between rows, an error
            continue
        if blank is not None and header is not None:  # dropping it would shift every later row
            raise ValueError(f"{argument}: line {blank} of {path} is blank; remove it or give it its fields.")
        blank = None
        if header is None:
            header = fields
            if len(set(header)) != len(header):
                raise ValueError(f"{argument}: the header of {path} names a column twice: {header}.")
            yield header, None
            continue
        if len(fields) != len(header):
            raise ValueError(
                f"{argument}: line {number} of {path} has {len(fields)} fields where the header has {len(header)}."
            )
        yield header, dict(zip(header, fields, strict=True))


def _json_rows(path: Path, argument: str) -> Iterator[tuple[list[str], dict | None]]:
    def parse(source: str, where: str):
        try:
            return json.loads(source, parse_int=RawNumber, parse_float=RawNumber, parse_constant=RawNumber)
        except json.JSONDecodeError as error:
            raise ValueError(f"{argument}: {where} of {path} is not valid JSON ({error.msg}).") from None

    lines = _lines(path, argument)
    first = next(((number, line) for number, line in lines if line.strip()), None)
    if first is None:
        return
    if first[1].lstrip().startswith("["):  # one document: parsed whole
        text = first[1] + "".join(line for _, line in lines)
        records = [(f"record {index}", record) for index, record in enumerate(parse(text, "the file"), 1)]
        yield [], None  # the file is there, if it lists no records
    else:
        records = (
            (f"line {number}", parse(line, f"line {number}"))
            for number, line in itertools.chain([first], lines)
            if line.strip()
        )
    for where, record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{argument}: {where} of {path} is not a JSON object with named fields.")
        yield list(record), record


def _text(cell) -> str | None:
    return str(cell) if isinstance(cell, str) else None


def _labels(cells: list) -> list:
    """Numbers where every given cell is one (a JSON number, or a CSV cell such as `1` or `0.5`), else text."""
    numbers = []
    for cell in cells:
        if cell is None or (isinstance(cell, str) and not isinstance(cell, RawNumber) and not cell.strip()):
            numbers.append(None)
            continue
        try:
            numbers.append(RawNumber(cell.strip()).value() if isinstance(cell, str) else cell)
        except ValueError:
            return [None if cell is None else cell_text(cell) for cell in cells]
    if any(isinstance(number, float) for number in numbers):
        return [None if number is None else float(number) for number in numbers]
    return numbers
