"""Reading your own datasets (``type: general_mcq | general_qa``): CSV, JSONL/JSON and Parquet files, or a directory
of them, as rows that remember where they came from, so that every problem is one line naming the file, the row and
the column (:class:`~evalray.errors.ConfigError`).

Rows are numbered from 1 in file order (a CSV's header is not a row; its row N is line N + 1 for one-line rows).
In a directory every supported file is read in name order, one subset per file (the file name without a trailing
``_test`` / ``_val`` / ``_dev``); files named ``<subset>_dev.<ext>`` are the few-shot split.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalray.errors import ConfigError

SUFFIXES = (".csv", ".jsonl", ".json", ".parquet")
_SPLIT_SUFFIXES = ("_test", "_val", "_validation", "_dev")


@dataclass(frozen=True)
class Row:
    """One row of a dataset file: its values, its file and its 1-based row number."""

    file: Path
    number: int
    values: dict[str, Any]

    def where(self, column: str | None = None) -> str:
        return f"{self.file}: row {self.number}" + (f", column '{column}'" if column else "")

    def error(self, column: str | None, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(column)}: {problem}")


def dataset_files(path: Path, dev: bool) -> list[tuple[str | None, Path]]:
    """(subset from the file name, file) of the scored files (``dev=False``) or the ``*_dev`` files of ``path``."""
    if path.is_file():
        return [(None, path)]
    if not path.is_dir():
        raise ConfigError(f"{path}: no such file or directory")
    found = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES + (".jsonl.gz",)))
    chosen = [p for p in found if _stem(p).lower().endswith("_dev") == dev]
    if not chosen and not dev:
        raise ConfigError(f"{path}: no CSV, JSONL or Parquet files in the directory")
    return [(_subset_of(p) if len(chosen) > 1 else None, p) for p in chosen]


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".jsonl.gz",) + SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _subset_of(path: Path) -> str:
    stem = _stem(path)
    for suffix in _SPLIT_SUFFIXES:
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def read_rows(path: Path) -> list[Row]:
    """The rows of one file, by its suffix; a row that cannot be read is one line naming file, row and column."""
    name = path.name.lower()
    try:
        if name.endswith(".csv"):
            return _csv_rows(path)
        if name.endswith((".jsonl", ".jsonl.gz")):
            return _jsonl_rows(path)
        if name.endswith(".json"):
            return _json_rows(path)
        if name.endswith(".parquet"):
            return _parquet_rows(path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    raise ConfigError(f"{path}: unsupported file type; use .csv, .jsonl, .json or .parquet")


def _csv_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if not header:
                raise ConfigError(f"{path}: empty file (a CSV needs a header row naming its columns)")
            for i, name in enumerate(header):
                if not name.strip():
                    raise ConfigError(f"{path}: header, column {i + 1}: empty column name")
                if header.count(name) > 1:
                    raise ConfigError(f"{path}: header, column '{name}': appears twice")
            for number, fields in enumerate(reader, 1):
                if not any(field.strip() for field in fields):
                    continue  # a blank line
                if len(fields) != len(header):
                    column = header[len(fields)] if len(fields) < len(header) else f"#{len(fields)}"
                    raise ConfigError(f"{path}: row {number} (line {reader.line_num}), column '{column}': "
                                      f"{len(fields)} fields where the header has {len(header)}")
                rows.append(Row(path, number, dict(zip(header, fields))))
        except csv.Error as exc:
            raise ConfigError(f"{path}: row {len(rows) + 1} (line {reader.line_num}): malformed CSV ({exc})") from None
    return rows


def _jsonl_rows(path: Path) -> list[Row]:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    rows: list[Row] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: row {number}, column {exc.colno}: not valid JSON ({exc.msg})") from None
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: row {number}: expected a JSON object, got {type(value).__name__}")
            rows.append(Row(path, number, value))
    return rows


def _json_rows(path: Path) -> list[Row]:
    with open(path, encoding="utf-8-sig") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: a .json dataset must be a list of objects (use .jsonl for one object a line)")
    rows = []
    for number, value in enumerate(data, 1):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: row {number}: expected a JSON object, got {type(value).__name__}")
        rows.append(Row(path, number, value))
    return rows


def _parquet_rows(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow.ArrowInvalid: not a Parquet file
        raise ConfigError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    return [Row(path, number, values) for number, values in enumerate(table.to_pylist(), 1)]


def text(row: Row, column: str, required: bool = True) -> str:
    """The column's value as text (numbers as written); missing or empty: an error when ``required``."""
    if column not in row.values:
        if not required:
            return ""
        known = ", ".join(map(str, list(row.values)[:12]))
        raise row.error(column, f"no such column (the row has: {known}); map it with `columns:`")
    value = row.values[column]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    if isinstance(value, (dict, list)):
        raise row.error(column, f"expected text, got a {type(value).__name__}")
    value = str(value)
    if required and not value.strip():
        raise row.error(column, "empty")
    return value


def string_list(row: Row, column: str) -> list[str]:
    """A column holding a list of strings: a JSON/Parquet list, or in a CSV a JSON list written as text."""
    if column not in row.values:
        return [text(row, column)]  # raises: no such column
    value = row.values[column]
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise row.error(column, f"not a valid JSON list ({exc.msg})") from None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise row.error(column, "expected a list of strings")
        return [str(v) for v in value]
    return [text(row, column)]
