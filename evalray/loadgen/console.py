"""The console table of a perf job: one row per run point (also embedded in report.html)."""

from __future__ import annotations

from typing import Any


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
        point = f"c={run['concurrency']}" if run["concurrency"] is not None else f"r={run['rate']:g}" \
            if run.get("rate") is not None else f"trace x{run.get('speed', 1):g}"
        errors = ",".join(f"{k}:{v}" for k, v in run["errors"].items()) or "0"
        rows.append([point, f"{run['ok']}/{run['requests']}", errors, _fmt(run["request_throughput"]),
                     _fmt(run["output_token_throughput"], 0), _fmt(run["ttft_ms"]["p50"], 2),
                     _fmt(run["ttft_ms"]["p99"], 2), _fmt(run["tpot_ms"]["p50"], 2), _fmt(run["tpot_ms"]["p99"], 2),
                     _fmt(run["itl_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p99"], 2),
                     _fmt(run["queue_ms"]["p99"], 2), _fmt(run["goodput"])])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def quality_lines(runs: list[dict[str, Any]]) -> list[str]:
    """Quality under load: accuracy and goodput of correct answers per run point."""
    lines = []
    for run in runs:
        q = run.get("quality")
        if q:
            point = f"c={run['concurrency']}" if run.get("concurrency") is not None else f"r={run.get('rate'):g}"
            lines.append(f"{point}: {q['benchmark']} {q['metric']} {_fmt(q['accuracy'], 4)} ({q['correct']} correct, "
                         f"{q['correct_violating_slo']} of them outside the SLOs, {q['failed']} failed), "
                         f"correct answers within the SLOs {_fmt(q['goodput_correct'], 2)}/s")
    return lines


def print_table(runs: list[dict[str, Any]], search: dict[str, Any] | None) -> None:
    import typer

    typer.echo("times in ms")
    for text in table_lines(runs):
        typer.echo(text)
    for text in quality_lines(runs):
        typer.echo(text)
    if search is not None:
        typer.echo(f"highest rate meeting the SLOs: {search['best_rate']} req/s ({search['probes']} probes)")
