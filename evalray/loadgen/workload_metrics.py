"""Figures of the realistic workloads, from the raw records (formulas in ``docs/perf.md``):

* ``schedule_slip_ms`` (open loop and trace replay): per measured request ``actual_send - intended_send``, how late
  the request's first byte was written compared with its scheduled time, and ``late_sends`` counts of sends more than
  1, 2 and 10 ms late;
* ``turns`` (multi_turn): per turn index ``k`` (0 = first), the requests, successes, TTFT, E2E and mean prompt tokens
  of every measured turn ``k``;
* ``sessions`` (multi_turn): per measured session, ``turns_completed`` = its successful turns and ``duration =
  max(end) - min(actual_send)`` over its turns (think times included), reported over completed sessions (every
  planned turn succeeded).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalray.loadgen.metrics import measured, request_times, successful, summarize

LATE_MS = (1.0, 2.0, 10.0)


def schedule_slip(table: pa.Table) -> dict[str, Any]:
    rows = measured(table)
    if rows.num_rows == 0:
        return {"schedule_slip_ms": summarize(np.zeros(0)), "late_sends": {f"{m:g}ms": 0 for m in LATE_MS}}
    slip = rows["actual_send"].to_numpy() - rows["intended_send"].to_numpy()
    return {"schedule_slip_ms": summarize(slip),
            "late_sends": {f"{m:g}ms": int((slip * 1000.0 > m).sum()) for m in LATE_MS}}


def turn_metrics(table: pa.Table) -> list[dict[str, Any]]:
    rows = measured(table)
    if rows.num_rows == 0:
        return []
    turns = rows["turn"].to_numpy()
    out = []
    for k in np.unique(turns).tolist():
        at_k = rows.filter(pc.equal(rows["turn"], k))
        ok = successful(at_k)
        times = request_times(ok)
        prompt = ok["prompt_tokens"].to_numpy()
        out.append({"turn": int(k), "requests": at_k.num_rows, "ok": ok.num_rows, "ttft_ms": summarize(times.ttft),
                    "e2e_ms": summarize(times.e2e),
                    "prompt_tokens_mean": round(float(prompt.mean()), 3) if prompt.size else None})
    return out


def session_metrics(table: pa.Table) -> dict[str, Any]:
    rows = measured(table)
    if rows.num_rows == 0:
        return {"sessions": 0, "completed": 0, "completion_rate": 0.0, "duration_ms": summarize(np.zeros(0)),
                "turns_completed": {"mean": None, "min": None, "max": None, "total": 0}}
    session = rows["session"].to_numpy()
    ok = pc.fill_null(pc.and_(pc.is_null(rows["error"]), pc.equal(rows["status"], 200)), False).to_numpy(
        zero_copy_only=False)
    ids, index = np.unique(session, return_inverse=True)
    turns_ok = np.bincount(index, weights=ok.astype(np.float64), minlength=ids.size).astype(np.int64)
    planned = np.zeros(ids.size, dtype=np.int64)
    np.maximum.at(planned, index, rows["session_turns"].to_numpy().astype(np.int64))
    first = np.full(ids.size, np.inf)
    last = np.full(ids.size, -np.inf)
    np.minimum.at(first, index, rows["actual_send"].to_numpy())
    np.maximum.at(last, index, rows["end"].to_numpy())
    completed = turns_ok >= planned
    return {"sessions": int(ids.size), "completed": int(completed.sum()),
            "completion_rate": round(float(completed.mean()), 6),
            "duration_ms": summarize((last - first)[completed]),
            "turns_completed": {"mean": round(float(turns_ok.mean()), 4), "min": int(turns_ok.min()),
                                "max": int(turns_ok.max()), "total": int(turns_ok.sum())}}


def workload_figures(table: pa.Table, open_loop: bool) -> dict[str, Any]:
    """The workload figures a run entry gets: slip for open loop, turn and session figures for sessions."""
    figures: dict[str, Any] = {}
    if open_loop:
        figures.update(schedule_slip(table))
    if "session" in table.column_names:
        figures["turns"] = turn_metrics(table)
        figures["sessions"] = session_metrics(table)
    return figures
