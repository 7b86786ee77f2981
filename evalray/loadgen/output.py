"""perf.json (schema_version 1), records.parquet and the console table."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalray import __version__
from evalray.loadgen.records import RECORD_SCHEMA

if TYPE_CHECKING:
    from evalray.loadgen.runner import PerfResult
    from evalray.loadgen.spec import PerfJobSpec

SCHEMA_VERSION = 1


def perf_document(spec: "PerfJobSpec", result: "PerfResult", started: float) -> dict[str, Any]:
    from evalray.job.loader import public_job_dict

    job = public_job_dict(spec)
    job["target"]["headers"] = {k: "***" for k in job["target"].get("headers", {})}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "perf",
        "evalray_version": __version__,
        "name": spec.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "target": {"url": spec.target.url, "model": spec.target.model, "stream": spec.target.stream},
        "runs": result.runs,
        "search": result.search,
        "interrupted": result.interrupted,
        "job": job,
    }


def write_outputs(spec: "PerfJobSpec", result: "PerfResult", output: Path, started: float) -> None:
    document = perf_document(spec, result, started)
    (output / "perf.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    tables = [t for t in result.tables if t.num_rows]
    schema = RECORD_SCHEMA.append(pa.field("run", pa.int32()))
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    pq.write_table(table, output / "records.parquet")
    if spec.html and result.runs:
        from evalray.loadgen.html import write_report

        write_report(document, table, output / "report.html")


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table_lines(runs: list[dict[str, Any]]) -> list[str]:
    """The console table: one row per run point."""
    header = ["point", "ok/req", "errors", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "TPOT p99",
              "ITL p50", "E2E p50", "E2E p99", "queue p99", "goodput"]
    rows = []
    for run in runs:
        point = f"c={run['concurrency']}" if run["concurrency"] is not None else f"r={run['rate']:g}"
        errors = ",".join(f"{k}:{v}" for k, v in run["errors"].items()) or "0"
        rows.append([point, f"{run['ok']}/{run['requests']}", errors, _fmt(run["request_throughput"]),
                     _fmt(run["output_token_throughput"], 0), _fmt(run["ttft_ms"]["p50"], 2),
                     _fmt(run["ttft_ms"]["p99"], 2), _fmt(run["tpot_ms"]["p50"], 2), _fmt(run["tpot_ms"]["p99"], 2),
                     _fmt(run["itl_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p99"], 2),
                     _fmt(run["queue_ms"]["p99"], 2), _fmt(run["goodput"])])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def print_table(runs: list[dict[str, Any]], search: dict[str, Any] | None) -> None:
    import typer

    typer.echo("times in ms")
    for text in table_lines(runs):
        typer.echo(text)
    if search is not None:
        typer.echo(f"highest rate meeting the SLOs: {search['best_rate']} req/s ({search['probes']} probes)")
