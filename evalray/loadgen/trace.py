"""Trace files for the ``trace`` workload: one request per row with its arrival time and lengths.

Layouts (``format: auto`` tells them apart by their columns):

* **generic** — JSONL objects or CSV with a header: ``timestamp`` (seconds), ``input_tokens``, ``output_tokens``,
  optional ``session_id`` and ``prompt`` (a prompt replaces the synthetic one of ``input_tokens`` tokens);
* **azure** — the Azure LLM inference trace CSV: ``TIMESTAMP`` (a date-time such as ``2023-11-16 18:15:46.6805900``,
  or seconds), ``ContextTokens``, ``GeneratedTokens``;
* **mooncake** — the Mooncake trace JSONL: ``timestamp`` (milliseconds), ``input_length``, ``output_length``,
  ``hash_ids`` (one id per block of ``block_tokens`` prompt tokens; equal ids are equal blocks).

Rows are sorted by time (stably) and times made relative to the first row. Replay at ``speed`` sends row ``i`` at
``(t_i - t_0) / speed``; ``max_requests`` keeps the first N rows and ``max_duration_s`` the rows with a scaled time
below it. A malformed row is one error naming the file and the line.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evalray.errors import ConfigError
from evalray.job.perf_workload import MAX_TOKENS, MAX_TRACE_REQUESTS

COLUMNS = {  # layout -> (time, input, output, time unit in seconds)
    "generic": ("timestamp", "input_tokens", "output_tokens", 1.0),
    "azure": ("TIMESTAMP", "ContextTokens", "GeneratedTokens", 1.0),
    "mooncake": ("timestamp", "input_length", "output_length", 0.001),
}


@dataclass
class Trace:
    """The rows of a trace, in time order; ``times`` in seconds from the first row (unscaled)."""

    times: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    sessions: list[str | None]
    prompts: list[str | None]
    hash_ids: list[list[int] | None]
    layout: str

    def __len__(self) -> int:
        return int(self.times.size)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a JSONL or CSV file (CSV when the name ends in .csv or the first line is no JSON)."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")  # a BOM (spreadsheet exports) is not a column
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the trace ({exc.strerror or exc})") from None
    with handle:
        first = handle.readline()
        handle.seek(0)
        if path.suffix.lower() != ".csv" and first.lstrip().startswith("{"):
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ConfigError(f"{path} line {number}: not a JSON object ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise ConfigError(f"{path} line {number}: not a JSON object")
                yield number, row
            return
        reader = csv.DictReader(handle)
        for row in reader:
            if None in row:
                raise ConfigError(f"{path} line {reader.line_num}: more fields than the header has")
            yield reader.line_num, row


def _layout(path: Path, keys: set[str], wanted: str) -> str:
    if wanted != "auto":
        return wanted
    for layout in ("mooncake", "azure", "generic"):
        time_key, input_key, output_key, _ = COLUMNS[layout]
        if {time_key, input_key, output_key} <= keys:
            return layout
    raise ConfigError(f"{path}: unknown trace layout (columns {sorted(keys)[:8]}); expected timestamp, "
                      "input_tokens, output_tokens (generic), TIMESTAMP, ContextTokens, GeneratedTokens (azure) or "
                      "timestamp, input_length, output_length, hash_ids (mooncake)")


def _seconds(value: Any, unit: float, name: str) -> float:
    try:
        return _parse_seconds(value, unit)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number or a date-time, got {str(value)[:40]!r}") from None


def _parse_seconds(value: Any, unit: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) * unit
    else:
        text = str(value).strip()
        try:
            seconds = float(text) * unit
        except ValueError:
            date, _, fraction = text.partition(".")  # 7 fractional digits in the Azure trace: keep microseconds
            stamp = datetime.fromisoformat(date + (f".{fraction[:6]}" if fraction else ""))
            seconds = stamp.timestamp()
    if not math.isfinite(seconds):
        raise ValueError("not finite")
    return seconds


def _count(value: Any, name: str) -> int:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number != int(number) or not 0 <= number <= MAX_TOKENS:
        raise ValueError(f"{name} must be a whole number from 0 to {MAX_TOKENS:,}, got {str(value)[:40]!r}")
    return int(number)


def read_trace(file: str, layout: str = "auto", max_requests: int | None = None) -> Trace:
    """Parse a trace (at most ``max_requests`` rows, in file order before sorting, and never more than
    1,000,000)."""
    path = Path(file)
    limit = min(max_requests or MAX_TRACE_REQUESTS, MAX_TRACE_REQUESTS)
    times, inputs, outputs = [], [], []
    sessions: list[str | None] = []
    prompts: list[str | None] = []
    hashes: list[list[int] | None] = []
    chosen = None
    for number, row in _rows(path):
        if chosen is None:
            chosen = _layout(path, set(row), layout)
        time_key, input_key, output_key, unit = COLUMNS[chosen]
        try:
            missing = [k for k in (time_key, input_key, output_key) if row.get(k) in (None, "")]
            if missing:
                raise ValueError(f"missing {', '.join(missing)}")
            times.append(_seconds(row[time_key], unit, time_key))
            inputs.append(_count(row[input_key], input_key))
            outputs.append(_count(row[output_key], output_key))
            ids = row.get("hash_ids")
            if isinstance(ids, str):
                ids = json.loads(ids) if ids.strip() else None
            if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
                raise ValueError("hash_ids must be a list of integers")
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConfigError(f"{path} line {number}: {exc}") from None
        session = row.get("session_id")
        sessions.append(None if session in (None, "") else str(session))
        prompt = row.get("prompt")
        prompts.append(None if prompt in (None, "") else str(prompt))
        hashes.append(ids)
        if len(times) >= limit:
            break
    if not times:
        raise ConfigError(f"{path}: the trace has no rows")
    order = np.argsort(np.asarray(times), kind="stable")
    stamps = np.asarray(times)[order]
    return Trace(times=stamps - stamps[0], input_tokens=np.asarray(inputs, np.int64)[order],
                 output_tokens=np.asarray(outputs, np.int64)[order], sessions=[sessions[i] for i in order],
                 prompts=[prompts[i] for i in order], hash_ids=[hashes[i] for i in order], layout=str(chosen))


def replay_times(trace: Trace, speed: float, max_duration_s: float | None = None) -> np.ndarray:
    """The send times (s from the common start) of a replay at ``speed``: ``(t_i - t_0) / speed``, only those below
    ``max_duration_s`` (the first row always)."""
    times = trace.times / speed
    if max_duration_s is not None:
        times = times[: max(1, int(np.searchsorted(times, max_duration_s, side="left")))]
    return times
