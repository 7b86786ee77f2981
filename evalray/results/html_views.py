"""The views of one eval run (score table with intervals, bar chart with error bars, per-category and per-subset
breakdown, counts and errors, environment, resolved job), shared by ``report.html`` and the dashboard's run page.

Everything is a pure function of ``result.json``: figures get fixed div ids and the job is dumped with sorted keys,
so regenerating a report rewrites the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml

CONFIG = {"displaylogo": False, "responsive": True}


def fmt(value: Any, digits: int = 4) -> str:
    """A number as shown everywhere: 4 decimals for floats, '-' for missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def figure_div(figure: Any, div_id: str) -> str:
    """A plotly figure as a ``<div>`` with a fixed id (plotly.js itself is loaded by the page)."""
    from plotly.io import to_html

    return to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG)


def headline_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Overall rows (micro and macro), in job order."""
    return [r for r in result.get("scores", []) if r.get("level", "overall") == "overall"]


def error_bars(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "data", "symmetric": False,
            "array": [max(0.0, (r["ci_high"] if r.get("ci_high") is not None else r["value"]) - r["value"]) for r in rows],
            "arrayminus": [max(0.0, r["value"] - (r["ci_low"] if r.get("ci_low") is not None else r["value"])) for r in rows]}


def scores_figure(result: dict[str, Any]):
    import plotly.graph_objects as go

    rows = [r for r in headline_rows(result) if r.get("value") is not None]
    figure = go.Figure()
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        figure.add_bar(name=model, x=[f"{r['benchmark']} · {r['metric']}" for r in mine], y=[r["value"] for r in mine],
                       error_y=error_bars(mine), hovertemplate="%{x}: %{y:.4f}<extra>" + model + "</extra>")
    figure.update_layout(title="Scores (error bars: 95% interval)", barmode="group", yaxis={"range": [0, 1.05]},
                         height=420, margin={"t": 50, "b": 120}, legend={"orientation": "h"})
    return figure


def _breakdown(result: dict[str, Any], benchmark: str, metric: str, index: int) -> dict[str, Any]:
    import plotly.graph_objects as go

    detail = [r for r in result.get("scores", []) if r["benchmark"] == benchmark and r["metric"] == metric
              and r.get("level") in ("category", "subset")]
    models = list(dict.fromkeys(r["model"] for r in detail))
    keys = list(dict.fromkeys((r["level"], r["subset"]) for r in detail))
    by_key = {(r["model"], r["level"], r["subset"]): r for r in detail}
    rows = []
    for level, subset in keys:
        cells = []
        for model in models:
            r = by_key.get((model, level, subset), {})
            cells.append({"value": fmt(r.get("value")), "ci_low": fmt(r.get("ci_low")), "ci_high": fmt(r.get("ci_high")),
                          "n": r.get("n", "-")})
        rows.append({"level": level, "subset": subset, "cells": cells})
    figure = go.Figure()
    for model in models:
        mine = [by_key[(model, lv, s)] for lv, s in keys if (model, lv, s) in by_key
                and by_key[(model, lv, s)].get("value") is not None]
        figure.add_bar(name=model, orientation="h", y=[f"{r['subset']} ({r['level'][0]})" for r in mine],
                       x=[r["value"] for r in mine], error_x=error_bars(mine))
    figure.update_layout(title=f"{benchmark} {metric} by category (c) and subset (s)", barmode="group",
                         height=min(4000, 160 + 18 * len(keys) * max(1, len(models))), xaxis={"range": [0, 1.05]},
                         yaxis={"autorange": "reversed"}, margin={"l": 260, "t": 50}, legend={"orientation": "h"})
    return {"benchmark": benchmark, "metric": metric, "models": models, "rows": rows,
            "figure": figure_div(figure, f"breakdown-{index}")}


def _duration(result: dict[str, Any]) -> str:
    try:
        seconds = (dt.datetime.fromisoformat(result["finished_at"]) - dt.datetime.fromisoformat(result["started_at"]))
        return f"{seconds.total_seconds():.0f} s"
    except (KeyError, TypeError, ValueError):
        return "-"


def run_view(result: dict[str, Any]) -> dict[str, Any]:
    """The context of the ``run.html`` template."""
    result = json.loads(json.dumps(result))  # the same values whether the dict came from the runner or the file
    headline = [{"model": r["model"], "benchmark": r["benchmark"], "metric": r["metric"], "value": fmt(r.get("value")),
                 "stderr": fmt(r.get("stderr")), "ci_low": fmt(r.get("ci_low")), "ci_high": fmt(r.get("ci_high")),
                 "n": r.get("n", "-")} for r in headline_rows(result)]
    pairs = list(dict.fromkeys((r["benchmark"], r["metric"]) for r in result.get("scores", [])
                               if r.get("level") in ("category", "subset")))
    breakdown = [_breakdown(result, benchmark, metric, i) for i, (benchmark, metric) in enumerate(pairs)]
    env = result.get("env") or {}
    return {
        "name": result.get("name", "?"), "run_id": result.get("run_id", "?"), "status": result.get("status", "?"),
        "started": result.get("started_at", "-"), "finished": result.get("finished_at", "-"),
        "duration": _duration(result), "error": result.get("error"), "headline": headline, "breakdown": breakdown,
        "counts": [{**c, "expected": c.get("expected", "-")} for c in result.get("counts", [])],
        "actors": result.get("actors", []), "env": [(k, env[k]) for k in sorted(env)],
        "job_yaml": yaml.safe_dump(result.get("job") or {}, sort_keys=True, allow_unicode=True),
        "figures": {"scores": figure_div(scores_figure(result), "scores-chart")},
    }


def run_body(result: dict[str, Any], links: dict[str, str] | None = None) -> str:
    from evalray.results.html_templates import render

    return render("run.html", run=run_view(result), links=links)
