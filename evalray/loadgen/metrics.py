"""Figures of one run, computed once, centrally, from the raw records (formulas in ``docs/perf.md``).

Per successful request (``error`` is null, status 200), with ``t0 = actual_send``:

* ``ttft = chunk_times[0] - t0`` (streaming requests with at least one chunk)
* ``e2e = end - t0``
* ``tpot = (e2e - ttft) / (completion_tokens - 1)`` when ``completion_tokens > 1`` (the vLLM ``bench serve`` formula)
* ``itl`` = every gap ``chunk_times[k] - chunk_times[k-1]``, pooled over requests (TTFT is never an ITL)
* ``itl_per_token`` = each gap divided by the request's mean tokens per chunk, ``completion_tokens / chunks``
* ``queue = actual_send - intended_send`` (every measured request; the open-loop schedule slip)

Over the run (warm-up and cancelled requests excluded): ``duration = max(end) - min(actual_send)``;
request throughput ``= ok / duration``; output token throughput ``= sum(completion_tokens of ok) / duration``; total
token throughput ``= sum(prompt_tokens + completion_tokens of ok) / duration``; goodput ``= ok requests meeting every
SLO threshold / duration``. Statistics: mean, population std, min, max and linearly interpolated percentiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalray.job.perf_spec import STAT_KEYS, Slo

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99.9": 99.9}


def summarize(values_s: np.ndarray) -> dict[str, float | None]:
    """Statistics of durations given in seconds, reported in milliseconds (``None`` when there are no values)."""
    if values_s.size == 0:
        return {key: None for key in STAT_KEYS}
    ms = values_s * 1000.0
    stats: dict[str, float | None] = {"mean": float(ms.mean()), "std": float(ms.std()), "min": float(ms.min())}
    points = np.percentile(ms, list(PERCENTILES.values()))
    stats.update({key: float(v) for key, v in zip(PERCENTILES, points)})
    stats["max"] = float(ms.max())
    return {k: round(v, 4) for k, v in stats.items()}


@dataclass
class RequestTimes:
    """Per-request arrays of the measured, successful requests (seconds) plus the pooled inter-chunk gaps."""

    ttft: np.ndarray
    e2e: np.ndarray
    tpot: np.ndarray
    itl: np.ndarray
    itl_per_token: np.ndarray
    ttft_per_request: np.ndarray  # aligned with e2e: NaN where a request had no chunk
    tpot_per_request: np.ndarray  # aligned with e2e: NaN where completion_tokens <= 1 or no chunk


def measured(table: pa.Table) -> pa.Table:
    """Rows that count: neither warm-up nor cancelled."""
    if table.num_rows == 0:
        return table
    keep = pc.and_(pc.invert(table["warmup"]), pc.invert(pc.fill_null(pc.equal(table["error"], "cancelled"), False)))
    return table.filter(keep)


def successful(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return table
    return table.filter(pc.and_(pc.is_null(table["error"]), pc.equal(table["status"], 200)))


def request_times(ok: pa.Table) -> RequestTimes:
    send = ok["actual_send"].to_numpy()
    e2e = ok["end"].to_numpy() - send
    chunks = ok["chunks"].to_numpy().astype(np.int64)
    tokens = ok["completion_tokens"].to_numpy().astype(np.float64)
    flat = ok["chunk_times"].combine_chunks() if ok.num_rows else pa.array([], pa.list_(pa.float64()))
    values = flat.flatten().to_numpy() if ok.num_rows else np.array([], dtype=np.float64)
    offsets = flat.offsets.to_numpy()[: ok.num_rows + 1] if ok.num_rows else np.zeros(1, dtype=np.int64)
    offsets = offsets - offsets[0]
    has_chunk = chunks > 0
    first = np.full(ok.num_rows, np.nan)
    first[has_chunk] = values[offsets[:-1][has_chunk]]
    ttft_all = first - send
    with np.errstate(divide="ignore", invalid="ignore"):
        tpot_all = np.where((tokens > 1) & has_chunk, (e2e - ttft_all) / (tokens - 1), np.nan)
    gaps = np.diff(values) if values.size > 1 else np.array([], dtype=np.float64)
    in_request = np.ones(gaps.size, dtype=bool)
    boundaries = offsets[1:-1] - 1  # the gap that would cross from one request into the next
    in_request[boundaries[(boundaries >= 0) & (boundaries < gaps.size)]] = False
    owner = np.repeat(np.arange(ok.num_rows), chunks)[1:] if values.size > 1 else np.array([], dtype=np.int64)
    itl = gaps[in_request]
    with np.errstate(divide="ignore", invalid="ignore"):
        tokens_per_chunk = np.where(chunks > 0, tokens / np.maximum(chunks, 1), 1.0)
    itl_per_token = itl / np.maximum(tokens_per_chunk[owner[in_request]], 1e-12) if itl.size else itl
    return RequestTimes(
        ttft=ttft_all[has_chunk], e2e=e2e, tpot=tpot_all[~np.isnan(tpot_all)], itl=itl,
        itl_per_token=itl_per_token, ttft_per_request=ttft_all, tpot_per_request=tpot_all,
    )


def error_counts(table: pa.Table) -> dict[str, int]:
    failed = table.filter(pc.invert(pc.and_(pc.is_null(table["error"]), pc.equal(table["status"], 200))))
    if failed.num_rows == 0:
        return {}
    kinds = pc.fill_null(failed["error"], "unknown").to_pylist()
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def meets_slos(times: RequestTimes, e2e: np.ndarray, slos: list[Slo]) -> np.ndarray:
    """Per successful request: does it meet every per-request SLO threshold (ttft, tpot, e2e)?"""
    good = np.ones(e2e.size, dtype=bool)
    per_request = {"ttft": times.ttft_per_request, "tpot": times.tpot_per_request, "e2e": e2e}
    for slo in slos:
        values = per_request.get(slo.metric)
        if values is None:
            continue
        good &= ~(values * 1000.0 > slo.threshold_ms)  # NaN (not applicable) counts as met
    return good


def max_in_flight(table: pa.Table) -> int:
    """Most requests open at the same moment (sent, not yet ended), from the records of every worker."""
    if table.num_rows == 0:
        return 0
    starts, ends = table["actual_send"].to_numpy(), table["end"].to_numpy()
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones(starts.size, dtype=np.int64), -np.ones(ends.size, dtype=np.int64)])
    order = np.lexsort((steps, times))  # at equal times an end (-1) comes before a start (+1)
    return int(np.cumsum(steps[order]).max())


def compute_metrics(table: pa.Table, slos: list[Slo] | None = None) -> dict[str, Any]:
    """The figures of one run entry of ``perf.json`` (everything except concurrency, rate and workers)."""
    slos = slos or []
    rows = measured(table)
    ok = successful(rows)
    times = request_times(ok)
    send = rows["actual_send"].to_numpy() if rows.num_rows else np.array([])
    duration = float(rows["end"].to_numpy().max() - send.min()) if rows.num_rows else 0.0
    per_s = (lambda x: round(x / duration, 4)) if duration > 0 else (lambda x: 0.0)
    completion = int(pc.sum(ok["completion_tokens"]).as_py() or 0) if ok.num_rows else 0
    prompt = int(pc.sum(ok["prompt_tokens"]).as_py() or 0) if ok.num_rows else 0
    queue = rows["actual_send"].to_numpy() - rows["intended_send"].to_numpy() if rows.num_rows else np.array([])
    sorted_send = np.sort(send)
    achieved = (sorted_send.size - 1) / (sorted_send[-1] - sorted_send[0]) if sorted_send.size > 1 and sorted_send[-1] > sorted_send[0] else 0.0
    result: dict[str, Any] = {
        "requests": rows.num_rows,
        "ok": ok.num_rows,
        "errors": error_counts(rows) if rows.num_rows else {},
        "error_rate": round((rows.num_rows - ok.num_rows) / rows.num_rows, 6) if rows.num_rows else 0.0,
        "duration_s": round(duration, 6),
        "request_throughput": per_s(ok.num_rows),
        "output_token_throughput": per_s(completion),
        "total_token_throughput": per_s(prompt + completion),
        "achieved_rate": round(float(achieved), 4),
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "ttft_ms": summarize(times.ttft),
        "tpot_ms": summarize(times.tpot),
        "itl_ms": summarize(times.itl),
        "itl_per_token_ms": summarize(times.itl_per_token),
        "e2e_ms": summarize(times.e2e),
        "queue_ms": summarize(np.maximum(queue, 0.0)),
        "goodput": None,
    }
    if slos:
        good = int(meets_slos(times, times.e2e, slos).sum())
        result["goodput"] = per_s(good)
        result["slo"] = slo_report(result, slos)
    return result


def slo_report(result: dict[str, Any], slos: list[Slo]) -> dict[str, Any]:
    """Each SLO's measured value and whether the run met it (a stat with no values fails)."""
    checks = {}
    for slo in slos:
        value = (result.get(f"{slo.metric}_ms") or {}).get(slo.stat)
        met = value is not None and not math.isnan(value) and value <= slo.threshold_ms
        checks[slo.key] = {"threshold_ms": slo.threshold_ms, "value_ms": value, "met": met}
    return {"met": all(c["met"] for c in checks.values()) and result["ok"] > 0, "checks": checks}
