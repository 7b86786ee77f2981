"""``<output>/progress.json``: how far a running eval job is, for the dashboard's live view.

The runner creates a :class:`ProgressWriter` with the expected samples per (model, benchmark), calls
:meth:`~ProgressWriter.update` with every batch of scored rows it collects, and :meth:`~ProgressWriter.close` with the
final status. The file is replaced atomically (written beside it, then renamed), at most once per second while
running, and always on close::

    {"schema_version": 1, "name": ..., "status": "running" | "completed" | "partial" | "failed",
     "started": ISO time, "updated": ISO time, "elapsed_s": s, "done": n, "expected": n, "errors": n,
     "rate": samples/s, "eta_s": s or null,
     "items": [{"model": ..., "benchmark": ..., "expected": n, "done": n, "errors": n}, ...]}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

SCHEMA_VERSION = 1
FILE_NAME = "progress.json"
MIN_INTERVAL_S = 1.0


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).isoformat(timespec="seconds")


class ProgressWriter:
    """Counts of scored samples per (model, benchmark), written to ``output_dir/progress.json``.

    ``output_dir`` may be None (a remote output location): then nothing is written. ``clock`` is for tests.
    """

    def __init__(self, output_dir: str | Path | None, expected: dict[tuple[str, str], int], name: str | None = None,
                 min_interval_s: float = MIN_INTERVAL_S, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(output_dir) / FILE_NAME if output_dir is not None else None
        self.expected = dict(expected)
        self.done = {key: 0 for key in self.expected}
        self.errors = {key: 0 for key in self.expected}
        self.name = name
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.started = clock()
        self._last_write = -float("inf")
        self.write("running")

    def update(self, batch: Any) -> None:
        """Count a batch of rows — a pyarrow Table, a pandas DataFrame, a dict of columns or a list of row dicts —
        with ``model``, ``benchmark`` and ``error`` columns; write the file when the last write is at least
        ``min_interval_s`` old."""
        models, benchmarks, errors = _columns(batch)
        for model, benchmark, error in zip(models, benchmarks, errors):
            key = (str(model), str(benchmark))
            self.done[key] = self.done.get(key, 0) + 1
            failed = error is not None and error == error and error != ""  # NaN != NaN: pandas' missing value
            self.errors[key] = self.errors.get(key, 0) + int(bool(failed))
        if self.clock() - self._last_write >= self.min_interval_s:
            self.write("running")

    def close(self, status: str) -> None:
        """The final write, with the run's status (completed, partial, failed)."""
        self.write(status)

    def snapshot(self, status: str) -> dict[str, Any]:
        now = self.clock()
        elapsed = max(0.0, now - self.started)
        done, expected = sum(self.done.values()), sum(self.expected.values())
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (expected - done) / rate if status == "running" and rate > 0 and expected >= done else None
        items = [{"model": m, "benchmark": b, "expected": self.expected.get((m, b), 0), "done": self.done[(m, b)],
                  "errors": self.errors.get((m, b), 0)} for m, b in self.done]
        return {"schema_version": SCHEMA_VERSION, "name": self.name, "status": status, "started": _iso(self.started),
                "updated": _iso(now), "elapsed_s": round(elapsed, 3), "done": done, "expected": expected,
                "errors": sum(self.errors.values()), "rate": round(rate, 3),
                "eta_s": round(eta, 1) if eta is not None else None, "items": items}

    def write(self, status: str) -> None:
        self._last_write = self.clock()
        if self.path is None:
            return
        text = json.dumps(self.snapshot(status), indent=2, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=self.path.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temporary, self.path)
        except OSError:  # progress is a convenience: never fail a run over it
            pass


def _columns(batch: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """(models, benchmarks, errors) of a batch in any of the shapes :meth:`ProgressWriter.update` takes."""
    if isinstance(batch, list):
        return ([r.get("model") for r in batch], [r.get("benchmark") for r in batch], [r.get("error") for r in batch])
    if hasattr(batch, "column_names") and hasattr(batch, "num_rows"):  # pyarrow Table / RecordBatch
        names = batch.column_names
        column = lambda n: batch.column(n).to_pylist() if n in names else [None] * batch.num_rows  # noqa: E731
        return column("model"), column("benchmark"), column("error")
    models = list(batch["model"])
    errors = list(batch["error"]) if "error" in batch else [None] * len(models)
    return models, list(batch["benchmark"]), errors
