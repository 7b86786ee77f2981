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
        point = _point(run)
        errors = ",".join(f"{k}:{v}" for k, v in run["errors"].items()) or "0"
        rows.append([point, f"{run['ok']}/{run['requests']}", errors, _fmt(run["request_throughput"]),
                     _fmt(run["output_token_throughput"], 0), _fmt(run["ttft_ms"]["p50"], 2),
                     _fmt(run["ttft_ms"]["p99"], 2), _fmt(run["tpot_ms"]["p50"], 2), _fmt(run["tpot_ms"]["p99"], 2),
                     _fmt(run["itl_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p50"], 2), _fmt(run["e2e_ms"]["p99"], 2),
                     _fmt(run["queue_ms"]["p99"], 2), _fmt(run["goodput"])])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _point(run: dict[str, Any]) -> str:
    if run.get("concurrency") is not None:
        return f"c={run['concurrency']}"
    return f"r={run['rate']:g}" if run.get("rate") is not None else f"trace x{run.get('speed', 1):g}"


def workload_lines(runs: list[dict[str, Any]]) -> list[str]:
    """The workload lines under the table: schedule slip (trace replay), sessions and TTFT by turn (multi_turn),
    accuracy and goodput of correct answers (benchmark)."""
    lines = []
    for run in runs:
        point = _point(run)
        slip = run.get("schedule_slip_ms")
        if slip and run.get("speed") is not None:
            lines.append(f"{point}: schedule slip p50 {_fmt(slip['p50'], 3)} / p99 {_fmt(slip['p99'], 3)} / max "
                         f"{_fmt(slip['max'], 3)} ms, {run['late_sends']['2ms']} sends more than 2 ms late")
        sessions = run.get("sessions")
        if sessions:
            by_turn = ", ".join(f"{t['turn'] + 1}: {_fmt(t['ttft_ms']['p50'], 2)}" for t in run.get("turns", [])[:8])
            lines.append(f"{point}: {sessions['completed']}/{sessions['sessions']} sessions completed, duration p50 "
                         f"{_fmt(sessions['duration_ms']['p50'], 1)} ms; TTFT p50 by turn {by_turn}")
        q = run.get("quality")
        if q:
            lines.append(f"{point}: {q['benchmark']} {q['metric']} {_fmt(q['accuracy'], 4)} ({q['correct']} correct, "
                         f"{q['correct_violating_slo']} of them outside the SLOs, {q['failed']} failed), "
                         f"correct answers within the SLOs {_fmt(q['goodput_correct'], 2)}/s")
    return lines


def print_table(runs: list[dict[str, Any]], search: dict[str, Any] | None) -> None:
    import typer

    typer.echo("times in ms")
    for text in table_lines(runs):
        typer.echo(text)
    for text in workload_lines(runs):
        typer.echo(text)
    if search is not None:
        typer.echo(f"highest rate meeting the SLOs: {search['best_rate']} req/s ({search['probes']} probes)")
