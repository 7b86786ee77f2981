"""Per-sample Parquet files, filtered and paged on the server: the browser only ever receives one page of rows.

A file is read once with pyarrow and kept in a small cache (keyed by path, size and mtime, so a rewritten file is
read again); the filters (subset, correct / incorrect / error, free text) are Arrow compute kernels and numpy masks.
"Correct" means full marks on the primary metric (the file's first metric: benchmarks score their declared first
metric first).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from evalray.results.compare import parse_scores

CACHE_FILES = 8
PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
STATUSES = ("all", "correct", "incorrect", "error")
SEARCH_COLUMNS = ("id", "prompt", "messages", "output", "extracted", "target")
KNOWN_COLUMNS = {"id", "uid", "subset", "mode", "prompt", "messages", "continuations", "output", "texts",
                 "loglikelihoods", "extracted", "target", "scores", "error", "served_by", "node_id"}


def primary_metric(metrics: list[str]) -> str | None:
    """A file's primary metric: its first (benchmarks score their declared first metric first)."""
    return metrics[0] if metrics else None


def _scalar(value: Any) -> float:
    if isinstance(value, list):
        return float(np.mean(value)) if value else math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class SampleFile:
    """A Parquet file in memory with the per-row arrays the filters need."""

    table: pa.Table
    benchmark: str
    primary: str | None
    metrics: list[str]
    score: np.ndarray  # the primary metric per row (NaN: errored or absent)
    errored: np.ndarray
    subsets: list[str] = field(default_factory=list)

    @property
    def correct(self) -> np.ndarray:
        return ~self.errored & (self.score >= 1.0 - 1e-9)

    @property
    def incorrect(self) -> np.ndarray:
        return ~self.errored & ~(self.score >= 1.0 - 1e-9)


def _struct_scores(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """Metric names and the first metric per row, read straight from a ``scores`` struct column (schema 2)."""
    metrics = [f.name for f in column.type]
    if not metrics:
        return [], np.full(len(column), math.nan)
    values = pc.struct_field(column, [0])
    if pa.types.is_list(values.type):  # a pooled metric: the mean of the item's observations
        return metrics, np.array([_scalar(v) for v in values.to_pylist()], dtype=float)
    return metrics, pc.fill_null(pc.cast(values, pa.float64()), math.nan).to_numpy(zero_copy_only=False)


def _json_scores(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """The same from JSON strings (schema 1)."""
    parsed = [parse_scores(s) for s in column.to_pylist()]
    metrics: list[str] = []
    for values in parsed:
        metrics += [m for m in values if m not in metrics]
    primary = primary_metric(metrics)
    return metrics, np.array([_scalar(v.get(primary)) if primary else math.nan for v in parsed], dtype=float)


def _build(path: Path, benchmark: str) -> SampleFile:
    table = pq.read_table(path, use_threads=False)  # one thread: faster than a pool's start-up for these sizes
    if "error" in table.column_names:
        error = table["error"]
        errored = pc.fill_null(pc.and_(pc.is_valid(error), pc.not_equal(error, "")), False).to_numpy(zero_copy_only=False)
    else:
        errored = np.zeros(table.num_rows, dtype=bool)
    if "scores" not in table.column_names:
        metrics, score = [], np.full(table.num_rows, math.nan)
    elif pa.types.is_struct(table["scores"].type):
        metrics, score = _struct_scores(table["scores"])
    else:
        metrics, score = _json_scores(table["scores"])
    subsets = sorted(s for s in pc.unique(table["subset"]).to_pylist() if s) if "subset" in table.column_names else []
    return SampleFile(table, benchmark, primary_metric(metrics), metrics, np.asarray(score, dtype=float),
                      np.asarray(errored, dtype=bool), subsets)


def warm_up() -> None:
    """Initialise pyarrow's Parquet reader and the compute kernels the filters use (a few hundred ms of one-time
    set-up), so that the first page a user opens does not pay for it."""
    import io

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": ["a", "b"], "scores": pa.array([{"m": 1.0}, None])}), buffer)
    buffer.seek(0)
    table = pq.read_table(buffer, use_threads=False)
    pc.match_substring(table["id"], "a", ignore_case=True)
    pc.fill_null(pc.struct_field(table["scores"], [0]), 0.0)
    table.take(pa.array([0], type=pa.int64())).to_pylist()


class SampleCache:
    """A few recently used files, rebuilt when the file on disk changes."""

    def __init__(self, size: int = CACHE_FILES) -> None:
        self.size = size
        self._files: OrderedDict[tuple[str, int, int], SampleFile] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, benchmark: str) -> SampleFile:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            if key in self._files:
                self._files.move_to_end(key)
                return self._files[key]
        loaded = _build(path, benchmark)
        with self._lock:
            self._files[key] = loaded
            while len(self._files) > self.size:
                self._files.popitem(last=False)
        return loaded


@dataclass
class Page:
    """One page of filtered samples."""

    rows: list[dict[str, Any]]
    total: int
    matched: int
    page: int
    pages: int
    page_size: int
    counts: dict[str, int]


def _text_mask(table: pa.Table, text: str) -> np.ndarray:
    mask = np.zeros(table.num_rows, dtype=bool)
    for column in SEARCH_COLUMNS:
        if column in table.column_names:
            hits = pc.match_substring(table[column], text, ignore_case=True)
            mask |= pc.fill_null(hits, False).to_numpy(zero_copy_only=False)
    return mask


def filter_mask(data: SampleFile, subset: str | None = None, status: str = "all", text: str | None = None) -> np.ndarray:
    mask = np.ones(data.table.num_rows, dtype=bool)
    if subset:
        mask &= pc.fill_null(pc.equal(data.table["subset"], subset), False).to_numpy(zero_copy_only=False)
    if status == "correct":
        mask &= data.correct
    elif status == "incorrect":
        mask &= data.incorrect
    elif status == "error":
        mask &= data.errored
    if text:
        mask &= _text_mask(data.table, text)
    return mask


def page_of(data: SampleFile, subset: str | None = None, status: str = "all", text: str | None = None,
            page: int = 1, page_size: int = PAGE_SIZE) -> Page:
    """Rows ``page`` (1-based) of the samples matching every filter, in file order (sorted by uid)."""
    page_size = max(1, min(MAX_PAGE_SIZE, page_size))
    mask = filter_mask(data, subset, status if status in STATUSES else "all", text)
    indices = np.flatnonzero(mask)
    pages = max(1, math.ceil(indices.size / page_size))
    page = max(1, min(page, pages))
    chosen = indices[(page - 1) * page_size: page * page_size]
    rows = data.table.take(pa.array(chosen, type=pa.int64())).to_pylist() if chosen.size else []
    for row, index in zip(rows, chosen):
        for column in KNOWN_COLUMNS:  # not every run kind writes every column (an embed run has no mode, ...)
            row.setdefault(column, None)
        row["_row"] = int(index)
        row["_score"] = None if math.isnan(data.score[index]) else float(data.score[index])
        row["_correct"] = bool(data.correct[index])
        row["_extra"] = {k: v for k, v in row.items() if k not in KNOWN_COLUMNS and not k.startswith("_")}
    counts = {"all": int(data.table.num_rows), "correct": int(data.correct.sum()),
              "incorrect": int(data.incorrect.sum()), "error": int(data.errored.sum())}
    return Page(rows, int(data.table.num_rows), int(indices.size), page, pages, page_size, counts)


def sample_details(row: dict[str, Any]) -> dict[str, Any]:
    """What the viewer shows of one row: messages parsed, log-likelihoods paired with their choices, scores parsed."""
    messages = row.get("messages")
    try:
        messages = json.loads(messages) if isinstance(messages, str) and messages else []
    except json.JSONDecodeError:
        messages = []
    choices = list(row.get("continuations") or [])
    lls = list(row.get("loglikelihoods") or [])
    best = int(np.argmax(lls)) if lls else None
    scores = parse_scores(row.get("scores"))
    return {"messages": messages, "choices": [{"text": c, "ll": ll, "best": i == best}
                                              for i, (c, ll) in enumerate(zip(choices, lls))],
            "scores": scores, "texts": list(row.get("texts") or [])}
