"""report.html: latency CDFs, TTFT/TPOT over time and (for sweeps) throughput and latency against the load."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from evalray.loadgen.console import table_lines
from evalray.loadgen.metrics import measured, request_times, successful

MAX_POINTS = 5000


def _label(run: dict[str, Any]) -> str:
    return f"c={run['concurrency']}" if run["concurrency"] is not None else f"rate={run['rate']:g}/s"


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= MAX_POINTS:
        return x, y
    pick = np.linspace(0, x.size - 1, MAX_POINTS).astype(int)
    return x[pick], y[pick]


def _cdf_figure(runs: list[dict[str, Any]], table: pa.Table, metric: str):
    import plotly.graph_objects as go

    figure = go.Figure()
    for index, run in enumerate(runs):
        ok = successful(measured(table.filter(pc.equal(table["run"], index))))
        values = getattr(request_times(ok), metric) * 1000.0
        if values.size == 0:
            continue
        values = np.sort(values)
        x, y = _thin(values, np.arange(1, values.size + 1) / values.size)
        figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=_label(run)))
    figure.update_layout(title=f"{metric.upper()} CDF", xaxis_title=f"{metric} (ms)", yaxis_title="fraction",
                         height=380)
    return figure


def _over_time_figure(runs: list[dict[str, Any]], table: pa.Table):
    import plotly.graph_objects as go

    figure = go.Figure()
    for index, run in enumerate(runs):
        ok = successful(measured(table.filter(pc.equal(table["run"], index))))
        times = request_times(ok)
        send = ok["actual_send"].to_numpy()
        for name, values in (("TTFT", times.ttft_per_request), ("TPOT", times.tpot_per_request)):
            keep = ~np.isnan(values)
            x, y = _thin(send[keep], values[keep] * 1000.0)
            figure.add_trace(go.Scattergl(x=x, y=y, mode="markers", marker={"size": 3},
                                          name=f"{name} {_label(run)}"))
    figure.update_layout(title="TTFT and TPOT over time", xaxis_title="send time (s from start)",
                         yaxis_title="ms", height=380)
    return figure


def _sweep_figure(runs: list[dict[str, Any]]):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    closed = runs[0]["concurrency"] is not None
    x = [r["concurrency"] if closed else r["rate"] for r in runs]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("throughput", "latency p99 (ms)"))
    figure.add_trace(go.Scatter(x=x, y=[r["request_throughput"] for r in runs], name="requests/s"), 1, 1)
    figure.add_trace(go.Scatter(x=x, y=[r["output_token_throughput"] for r in runs], name="output tokens/s",
                                yaxis="y2"), 1, 1)
    for key in ("ttft_ms", "tpot_ms", "e2e_ms"):
        figure.add_trace(go.Scatter(x=x, y=[r[key]["p99"] for r in runs], name=f"{key[:-3]} p99"), 1, 2)
    figure.update_xaxes(title_text="concurrency" if closed else "target rate (req/s)")
    figure.update_layout(title="Sweep", height=400)
    return figure


def _summary_table(runs: list[dict[str, Any]]) -> str:
    return "<pre>" + html.escape("\n".join(table_lines(runs))) + "</pre>"


def write_report(document: dict[str, Any], table: pa.Table, path: Path) -> None:
    runs = document["runs"]
    figures = [_cdf_figure(runs, table, m) for m in ("ttft", "tpot", "itl", "e2e")]
    figures.append(_over_time_figure(runs, table))
    if len(runs) > 1:
        figures.append(_sweep_figure(runs))
    parts = [figure.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, figure in enumerate(figures)]
    target = document["target"]
    title = f"evalray perf: {html.escape(target['model'])} at {html.escape(target['url'])}"
    body = "\n".join([f"<h1>{title}</h1>", f"<p>created {document['created']}; times in ms</p>",
                      _summary_table(runs), *parts])
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
                    f"<body style='font-family:sans-serif'>{body}</body></html>", encoding="utf-8")
