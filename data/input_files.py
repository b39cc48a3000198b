"""Data files read as written: a CSV or TSV cell is the text in the file, a JSON value the value in it.

No type guessing (`00123` stays `00123`, `NA` is a text), a TSV has no quoting (a field may start with `"`), and
numbers in JSON keep the digits they were written with, so that rows passed through `berxit-predict` come back
byte for byte. A file that cannot be read as a table (ragged rows, a broken JSON line) is refused with its line.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path

from datasets import Dataset

DATA_FILE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".txt")
TEXT_FILE_COLUMN = "text"  # a .txt file holds one text per line, read as this column
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
LINE_END = re.compile(r"\r\n|\r|\n")  # where a line ends; U+2028, U+0085 or a form feed inside a cell do not
csv.field_size_limit(sys.maxsize)  # a long review is a cell like any other (the csv module stops at 128 KiB)


def lines(text: str) -> list[str]:
    """The lines of `text`, split where a line ends and nowhere else (`str.splitlines` also splits at U+2028,
    U+0085, form feeds and other separators, which a cell may hold)."""
    return LINE_END.split(text.removesuffix("\n").removesuffix("\r"))


class RawNumber(str):
    """A JSON number as written in the file (`1e5`, `007.0`): text to pass through, a number where one is needed."""

    def value(self) -> int | float:
        return int(self) if WHOLE_NUMBER.fullmatch(self) else float(self)


def is_data_file(name: str) -> bool:
    """Whether `name` names a data file by its suffix (any case: `data.TSV` too)."""
    return Path(name).suffix.lower() in DATA_FILE_SUFFIXES


def read_table(path: Path, argument: str) -> tuple[list[str], list[dict]]:
    """The columns and rows of a CSV, TSV, JSON (a list of objects), JSON Lines or text file."""
    text = _read_text(path, argument)
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return [TEXT_FILE_COLUMN], [{TEXT_FILE_COLUMN: line} for line in lines(text) if line.strip()]
    if suffix in (".csv", ".tsv"):
        return _read_delimited(text, path, argument, suffix == ".tsv")
    return _read_json(text, path, argument)


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


def _read_text(path: Path, argument: str) -> str:
    if path.is_dir():
        raise ValueError(f"{argument}: {path} is a folder; expected a data file ({', '.join(DATA_FILE_SUFFIXES)}).")
    if not path.is_file():
        raise FileNotFoundError(f"{argument}: no such file {path}.")
    content = path.read_bytes()
    if not content.strip():
        raise ValueError(f"{argument}: {path} is empty.")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{argument}: {path} is not UTF-8 text (byte {content[error.start]:#04x} at offset {error.start}); "
            "save it as UTF-8."
        ) from None


def _read_delimited(text: str, path: Path, argument: str, tabs: bool) -> tuple[list[str], list[dict]]:
    if tabs:  # no quoting: every line is its fields as written
        read = [(number, line.split("\t") if line.strip() else []) for number, line in enumerate(lines(text), 1)]
    else:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # records split at line ends only
        try:
            read = [(reader.line_num, fields if any(field.strip() for field in fields) else []) for fields in reader]
        except csv.Error as error:
            raise ValueError(f"{argument}: line {reader.line_num + 1} of {path} is not valid CSV ({error}).") from None
    while read and not read[-1][1]:  # blank lines at the end of the file
        read.pop()
    blank = [number for number, fields in read if not fields]
    if blank:  # dropping it would shift every later row
        raise ValueError(f"{argument}: line {blank[0]} of {path} is blank; remove it or give it its fields.")
    if len(read) < 2:
        raise ValueError(f"{argument}: {path} holds a header and no rows.")
    (_, header), rows = read[0], read[1:]
    if len(set(header)) != len(header):
        raise ValueError(f"{argument}: the header of {path} names a column twice: {header}.")
    for number, fields in rows:
        if len(fields) != len(header):
            raise ValueError(
                f"{argument}: line {number} of {path} has {len(fields)} fields where the header has {len(header)}."
            )
    return header, [dict(zip(header, fields, strict=True)) for _, fields in rows]


def _read_json(text: str, path: Path, argument: str) -> tuple[list[str], list[dict]]:
    def parse(source: str, where: str):
        try:
            return json.loads(source, parse_int=RawNumber, parse_float=RawNumber, parse_constant=RawNumber)
        except json.JSONDecodeError as error:
            raise ValueError(f"{argument}: {where} of {path} is not valid JSON ({error.msg}).") from None

    if text.lstrip().startswith("["):
        records = [(f"record {index}", record) for index, record in enumerate(parse(text, "the file"), 1)]
    else:
        records = [
            (f"line {number}", parse(line, f"line {number}"))
            for number, line in enumerate(lines(text), 1)
            if line.strip()
        ]
    columns: dict[str, None] = {}
    for where, record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{argument}: {where} of {path} is not a JSON object with named fields.")
        columns.update(dict.fromkeys(record))
    if not records:
        raise ValueError(f"{argument}: {path} holds no records.")
    return list(columns), [record for _, record in records]


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
