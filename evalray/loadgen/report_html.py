"""The views of a perf run (``perf.json`` + ``records.parquet``): summary table, SLO verdicts, errors by kind, latency
CDFs (TTFT, TPOT, ITL, E2E), throughput and latency over time and, for sweeps, throughput against latency per point.
Shared by the perf ``report.html`` and the dashboard's perf page; figures have fixed div ids (reproducible bytes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalray.results.html_views import figure_div

MAX_POINTS = 4000
CDF_METRICS = ("ttft", "tpot", "itl", "e2e")


def point_label(run: dict[str, Any]) -> str:
    if run.get("speed") is not None:
        return f"trace x{run['speed']:g}"
    return f"c={run['concurrency']}" if run.get("concurrency") is not None else f"rate={run.get('rate'):g}/s"


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= MAX_POINTS:
        return x, y
    pick = np.linspace(0, x.size - 1, MAX_POINTS).astype(int)
    return x[pick], y[pick]


def _point_tables(runs: list[dict[str, Any]], table: pa.Table) -> list[pa.Table]:
    from evalray.loadgen.metrics import measured

    if table.num_rows == 0 or "run" not in table.column_names:
        return [table.slice(0, 0) for _ in runs]
    return [measured(table.filter(pc.equal(table["run"], index))) for index in range(len(runs))]


def _times(rows: pa.Table):
    from evalray.loadgen.metrics import request_times, successful

    ok = successful(rows)
    return ok, request_times(ok)


def _cdf_figure(runs: list[dict[str, Any]], parts: list[pa.Table], metric: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    for run, rows in zip(runs, parts):
        if rows.num_rows == 0:
            continue
        values = np.sort(getattr(_times(rows)[1], metric) * 1000.0)
        if values.size:
            x, y = _thin(values, np.arange(1, values.size + 1) / values.size)
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=point_label(run)))
    figure.update_layout(title=f"{metric.upper()} CDF", xaxis_title=f"{metric} (ms)", yaxis_title="fraction of requests",
                         height=360, margin={"t": 50})
    return figure


def _throughput_figure(runs: list[dict[str, Any]], parts: list[pa.Table]):
    """Successful requests completed per second (1-s bins of the end time)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for run, rows in zip(runs, parts):
        ok = _times(rows)[0] if rows.num_rows else rows
        if ok.num_rows == 0:
            continue
        end = ok["end"].to_numpy()
        start = float(rows["actual_send"].to_numpy().min())
        bins = np.floor(end - start).astype(int)
        counts = np.bincount(bins)
        figure.add_trace(go.Scatter(x=np.arange(counts.size) + 0.5, y=counts, mode="lines+markers",
                                    name=point_label(run)))
    figure.update_layout(title="Throughput over time (successful requests per second)",
                         xaxis_title="time since the point's first send (s)", yaxis_title="requests/s", height=360)
    return figure


def _latency_figure(runs: list[dict[str, Any]], parts: list[pa.Table]):
    import plotly.graph_objects as go

    figure = go.Figure()
    for run, rows in zip(runs, parts):
        if rows.num_rows == 0:
            continue
        ok, times = _times(rows)
        if ok.num_rows == 0:
            continue
        send = ok["actual_send"].to_numpy() - float(rows["actual_send"].to_numpy().min())
        for name, values in (("TTFT", times.ttft_per_request), ("E2E", times.e2e)):
            keep = ~np.isnan(values)
            x, y = _thin(send[keep], values[keep] * 1000.0)
            figure.add_trace(go.Scattergl(x=x, y=y, mode="markers", marker={"size": 3},
                                          name=f"{name} {point_label(run)}"))
    figure.update_layout(title="Latency over time (per request, by send time)", xaxis_title="send time (s)",
                         yaxis_title="ms", height=360)
    return figure


def _sweep_figure(runs: list[dict[str, Any]]):
    """Throughput against p50/p99 latency, one marker per point of the sweep."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("throughput vs TTFT", "throughput vs E2E"))
    labels = [point_label(r) for r in runs]
    for col, key in ((1, "ttft_ms"), (2, "e2e_ms")):
        for stat in ("p50", "p99"):
            figure.add_trace(go.Scatter(x=[(r.get(key) or {}).get(stat) for r in runs],
                                        y=[r.get("request_throughput") for r in runs], text=labels,
                                        mode="lines+markers+text", textposition="top center",
                                        name=f"{key[:-3]} {stat}"), 1, col)
    figure.update_xaxes(title_text="latency (ms)")
    figure.update_yaxes(title_text="requests/s")
    figure.update_layout(title="Sweep: throughput against latency", height=420)
    return figure


def _turns_figure(runs: list[dict[str, Any]]):
    """Multi-turn sessions: TTFT p50 / p99 by turn index, one line per run point."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for run in runs:
        turns = run.get("turns") or []
        for stat in ("p50", "p99"):
            figure.add_trace(go.Scatter(x=[t["turn"] + 1 for t in turns], y=[t["ttft_ms"].get(stat) for t in turns],
                                        mode="lines+markers", name=f"TTFT {stat} {point_label(run)}"))
    figure.update_layout(title="TTFT by turn", xaxis_title="turn (1 = first)", yaxis_title="ms", height=360)
    return figure


def _quality_figure(runs: list[dict[str, Any]]):
    """Quality under load: accuracy and correct answers per second within the SLOs, per run point."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(specs=[[{"secondary_y": True}]])
    labels = [point_label(r) for r in runs]
    quality = [r.get("quality") or {} for r in runs]
    figure.add_trace(go.Scatter(x=labels, y=[q.get("accuracy") for q in quality], mode="lines+markers",
                                name="accuracy"), secondary_y=False)
    figure.add_trace(go.Bar(x=labels, y=[q.get("goodput_correct") for q in quality], name="correct/s within SLO",
                            opacity=0.4), secondary_y=True)
    figure.update_yaxes(title_text="accuracy", range=[0, 1.05], secondary_y=False)
    figure.update_yaxes(title_text="correct answers/s", secondary_y=True)
    figure.update_layout(title="Quality under load", height=360)
    return figure


def _slip_figure(runs: list[dict[str, Any]], parts: list[pa.Table]):
    """Open loop and trace replay: CDF of how late each send was against its scheduled time."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for run, rows in zip(runs, parts):
        if run.get("schedule_slip_ms") is None or rows.num_rows == 0:
            continue
        values = np.sort((rows["actual_send"].to_numpy() - rows["intended_send"].to_numpy()) * 1000.0)
        x, y = _thin(values, np.arange(1, values.size + 1) / values.size)
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=point_label(run)))
    figure.update_layout(title="Schedule slip CDF", xaxis_title="actual - scheduled send (ms)",
                         yaxis_title="fraction of requests", height=360, margin={"t": 50})
    return figure


def _server_figure(runs: list[dict[str, Any]]):
    """Server-side metrics over time (scraped from the server's /metrics), one line per metric and run point: request
    counts on the left axis, KV-cache usage (0..1) on the right; counters are left out (their totals are in the
    table)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for run in runs:
        server = run.get("server_metrics") or {}
        for name, values in sorted((server.get("series") or {}).items()):
            if name.endswith(("_hits", "_queries", "_success", "_total")):
                continue
            ratio = name.endswith("_perc")
            figure.add_trace(go.Scatter(x=server.get("t"), y=values, mode="lines+markers",
                                        name=f"{name.removeprefix('vllm:')} {point_label(run)}"), secondary_y=ratio)
    figure.update_yaxes(title_text="requests", secondary_y=False)
    figure.update_yaxes(title_text="KV-cache usage", range=[0, 1.05], secondary_y=True)
    figure.update_layout(title="Server metrics over time (scraped)", xaxis_title="time since the point's start (s)",
                         height=360)
    return figure


def _errors_figure(runs: list[dict[str, Any]]):
    import plotly.graph_objects as go

    kinds = sorted({k for r in runs for k in (r.get("errors") or {})})
    figure = go.Figure()
    for kind in kinds:
        figure.add_bar(name=kind, x=[point_label(r) for r in runs], y=[(r.get("errors") or {}).get(kind, 0) for r in runs])
    figure.update_layout(title="Errors by kind", barmode="stack", height=320, yaxis_title="requests")
    return figure


SUMMARY = (("point", None), ("ok", "ok"), ("requests", "requests"), ("req/s", "request_throughput"),
           ("out tok/s", "output_token_throughput"), ("TTFT p50", "ttft_ms.p50"), ("TTFT p99", "ttft_ms.p99"),
           ("TPOT p50", "tpot_ms.p50"), ("TPOT p99", "tpot_ms.p99"), ("ITL p50", "itl_ms.p50"),
           ("E2E p50", "e2e_ms.p50"), ("E2E p99", "e2e_ms.p99"), ("queue p99", "queue_ms.p99"),
           ("slip p99", "schedule_slip_ms.p99"), ("accuracy", "quality.accuracy"),
           ("correct/s in SLO", "quality.goodput_correct"), ("goodput", "goodput"),
           ("KV max", "server_metrics.kv_cache_usage_max"), ("prefix hit", "server_metrics.prefix_cache_hit_rate"),
           ("scrape errors", "server_metrics.error_count"))
OPTIONAL = {"slip p99", "accuracy", "correct/s in SLO", "KV max", "prefix hit", "scrape errors"}  # shown only when some run point has them


def _cell(run: dict[str, Any], key: str | None) -> str:
    if key is None:
        return point_label(run)
    value: Any = run
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "-"
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _summary(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the summary table: floats with 2 decimals, times in ms."""
    columns = [(name, key) for name, key in SUMMARY
               if name not in OPTIONAL or any(_cell(run, key) != "-" for run in runs)]
    return [name for name, _ in columns], [[_cell(run, key) for _, key in columns] for run in runs]


def perf_view(document: dict[str, Any], table: pa.Table) -> dict[str, Any]:
    """The context of the ``perf.html`` template."""
    document = json.loads(json.dumps(document))
    runs = document.get("runs", [])
    parts = _point_tables(runs, table)
    header, rows = _summary(runs) if runs else ([], [])
    slo = [{"point": point_label(r), "key": key, "threshold": f"{c.get('threshold_ms'):g}",
            "value": "-" if c.get("value_ms") is None else f"{c['value_ms']:.2f}", "met": bool(c.get("met"))}
           for r in runs for key, c in sorted(((r.get("slo") or {}).get("checks") or {}).items())]
    errors = [{"point": point_label(r), "kind": kind, "count": count}
              for r in runs for kind, count in sorted((r.get("errors") or {}).items())]
    figures = {
        "cdfs": [figure_div(_cdf_figure(runs, parts, m), f"perf-{m}-cdf") for m in CDF_METRICS]
        + ([figure_div(_slip_figure(runs, parts), "perf-slip-cdf")] if any("schedule_slip_ms" in r for r in runs)
           else [])
        + ([figure_div(_turns_figure(runs), "perf-turns")] if any(r.get("turns") for r in runs) else [])
        + ([figure_div(_quality_figure(runs), "perf-quality")] if any(r.get("quality") for r in runs) else []),
        "throughput": figure_div(_throughput_figure(runs, parts), "perf-throughput")
        + (figure_div(_server_figure(runs), "perf-server-metrics") if any(r.get("server_metrics") for r in runs)
           else ""),
        "latency": figure_div(_latency_figure(runs, parts), "perf-latency"),
        "errors": figure_div(_errors_figure(runs), "perf-errors-chart") if errors else "",
        "sweep": figure_div(_sweep_figure(runs), "perf-sweep") if len(runs) > 1 else "",
    }
    target = document.get("target", {})
    return {"title": f"evalray perf: {document.get('name', '?')}", "status": "interrupted" if document.get("interrupted")
            else "completed", "created": document.get("created", "-"),
            "target": f"{target.get('model', '?')} at {target.get('url', '?')}", "header": header, "rows": rows,
            "slo": slo, "errors": errors, "search": document.get("search"), "figures": figures}


def perf_body(document: dict[str, Any], table: pa.Table) -> str:
    from evalray.results.html_templates import render

    return render("perf.html", perf=perf_view(document, table))


def perf_html(document: dict[str, Any], table: pa.Table) -> str:
    """A self-contained perf report (plotly inlined)."""
    from evalray.results.html_templates import inline_plotly, page

    return page(f"evalray perf: {document.get('name', '?')}", perf_body(document, table), plotly_js=inline_plotly())


def perf_markdown(document: dict[str, Any]) -> str:
    from evalray.loadgen.console import table_lines

    target = document.get("target", {})
    lines = [f"# evalray perf: {document.get('name', '?')}", "",
             f"- target: `{target.get('model')}` at {target.get('url')} · created {document.get('created')}", "",
             "Times in ms.", "", "```", *table_lines(document.get("runs", [])), "```", ""]
    search = document.get("search")
    if search:
        lines += [f"Highest rate meeting the SLOs: {search.get('best_rate')} req/s ({search.get('probes')} probes).", ""]
    return "\n".join(lines)


def write_report(document: dict[str, Any], table: pa.Table, path: Path) -> None:
    """``report.html`` of a perf run (the call site in :mod:`evalray.loadgen.output`)."""
    Path(path).write_text(perf_html(document, table), encoding="utf-8")
