"""Flat summaries of finished runs for spreadsheets and trackers (``evalray export``): one row per run point of a
perf run (``perf.json``) and one row per (model, benchmark, metric) of an eval run's overall scores
(``result.json``), written as CSV or JSONL. The W&B / MLflow side is :mod:`evalray.results.export_trackers`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Iterable

from evalray.errors import ConfigError

STATS = ("p50", "p90", "p99")
LATENCIES = ("ttft", "tpot", "itl", "e2e")
FORMATS = ("csv", "jsonl")


def _get(entry: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        entry = entry.get(part) if isinstance(entry, dict) else None
    return entry


def _label(run: dict[str, Any]) -> str:
    if run.get("speed") is not None:
        return f"trace x{run['speed']:g}"
    if run.get("concurrency") is not None:
        return f"c={run['concurrency']}"
    return f"rate={run['rate']:g}/s" if run.get("rate") is not None else "-"


def load_run(path: str | Path) -> tuple[str, dict[str, Any], Path]:
    """A run directory (or its perf.json / result.json) -> (kind ``perf`` | ``eval``, document, directory); a
    missing or malformed run is one clear :class:`ConfigError`."""
    path = Path(path)
    candidates = [path] if path.is_file() else [path / "perf.json", path / "result.json"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        what = "no such file or directory" if not path.exists() else "no perf.json or result.json in it"
        raise ConfigError(f"export {path}: {what}")
    try:
        document = json.loads(found.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"export {found}: not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(document, dict):
        raise ConfigError(f"export {found}: expected a JSON object")
    if document.get("kind") == "perf" and isinstance(document.get("runs"), list):
        return "perf", document, found.parent
    if isinstance(document.get("scores"), list) and "run_id" in document:
        return "eval", document, found.parent
    raise ConfigError(f"export {found}: neither a perf run (kind: perf, runs) nor an eval run (run_id, scores)")


def perf_rows(document: dict[str, Any], run_dir: str | Path) -> list[dict[str, Any]]:
    """One flat row per run point: settings, throughput, latency percentiles (ms), goodput, errors, accuracy."""
    target = document.get("target") or {}
    created = document.get("created")
    run_id = f"{document.get('name', 'perf')}-{str(created or '').replace(':', '').replace('-', '')}"
    rows = []
    for index, run in enumerate(document["runs"]):
        if not isinstance(run, dict):
            raise ConfigError(f"export {run_dir}: perf.json run {index} is not an object")
        row: dict[str, Any] = {
            "kind": "perf", "run_id": run_id, "run_dir": str(run_dir), "job": document.get("name"), "created": created,
            "endpoint": target.get("url"), "model": target.get("model"), "point": index, "load": _label(run),
            "concurrency": run.get("concurrency"), "rate": run.get("rate"), "speed": run.get("speed"),
            "workload": run.get("workload"), "workers": run.get("workers"), "requests": run.get("requests"),
            "ok": run.get("ok"), "errors": sum((run.get("errors") or {}).values()), "error_rate": run.get("error_rate"),
            "request_throughput": run.get("request_throughput"),
            "output_token_throughput": run.get("output_token_throughput"),
        }
        for metric in LATENCIES:
            for stat in STATS:
                row[f"{metric}_{stat}_ms"] = _get(run, f"{metric}_ms.{stat}")
        row.update({"goodput": run.get("goodput"), "slo_met": _get(run, "slo.met"),
                    "accuracy": _get(run, "quality.accuracy"), "goodput_correct": _get(run, "quality.goodput_correct"),
                    "kv_cache_usage_max": _get(run, "server_metrics.kv_cache_usage_max"),
                    "prefix_cache_hit_rate": _get(run, "server_metrics.prefix_cache_hit_rate"),
                    "interrupted": bool(document.get("interrupted"))})
        rows.append(row)
    return rows


def _endpoint(job: dict[str, Any], model: str) -> str | None:
    for spec in job.get("models") or []:
        if isinstance(spec, dict) and spec.get("name") == model:
            return spec.get("base_url") or spec.get("url") or spec.get("source")
    return None


def eval_rows(document: dict[str, Any], run_dir: str | Path) -> list[dict[str, Any]]:
    """One flat row per (model, benchmark, metric) of the overall scores."""
    job = document.get("job") if isinstance(document.get("job"), dict) else {}
    rows = []
    for score in document["scores"]:
        if not isinstance(score, dict) or score.get("level", "overall") != "overall":
            continue
        rows.append({"kind": "eval", "run_id": document.get("run_id"), "run_dir": str(run_dir),
                     "job": document.get("name"), "created": document.get("started_at"),
                     "status": document.get("status"), "endpoint": _endpoint(job, str(score.get("model"))),
                     "model": score.get("model"), "benchmark": score.get("benchmark"), "metric": score.get("metric"),
                     "value": score.get("value"), "stderr": score.get("stderr"), "ci_low": score.get("ci_low"),
                     "ci_high": score.get("ci_high"), "n": score.get("n")})
    return rows


def rows_of(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        kind, document, run_dir = load_run(path)
        rows += perf_rows(document, run_dir) if kind == "perf" else eval_rows(document, run_dir)
    return rows


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    """CSV (the union of the rows' columns, first-seen order; empty cells for absent values) or JSONL."""
    if fmt not in FORMATS:
        raise ConfigError(f"export --format {fmt}: expected one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        return "".join(json.dumps({k: _plain(v) for k, v in row.items()}, allow_nan=False) + "\n" for row in rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if _plain(v) is None else v for k, v in row.items()})
    return out.getvalue()
