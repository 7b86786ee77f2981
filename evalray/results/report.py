"""Human-readable reports of a ``result.json``: a console table, Markdown and a self-contained HTML page (plotly)."""

from __future__ import annotations

import html
import json
from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def headline_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Overall rows (micro and macro), in job order."""
    return [r for r in result.get("scores", []) if r.get("level", "overall") == "overall"]


def console_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"evalray · {result['name']} · {result['status']}")
    for column in ("model", "benchmark", "metric", "value", "stderr", "95% CI", "n"):
        table.add_column(column, justify="right" if column in ("value", "stderr", "n") else "left")
    for row in headline_rows(result):
        ci = f"[{_fmt(row.get('ci_low'))}, {_fmt(row.get('ci_high'))}]"
        table.add_row(row["model"], row["benchmark"], row["metric"], _fmt(row["value"]), _fmt(row["stderr"]), ci,
                      str(row["n"]))
    console = Console()
    console.print(table)
    errors = [c for c in result.get("counts", []) if c["errors"]]
    for count in errors:
        console.print(f"[yellow]{count['model']}/{count['benchmark']}: {count['errors']} of {count['samples']} samples errored")


def markdown_report(result: dict[str, Any]) -> str:
    lines = [f"# evalray report: {result['name']}", "",
             f"- run: `{result['run_id']}` · status: **{result['status']}**",
             f"- started {result['started_at']} · finished {result['finished_at']}",
             f"- evalray {result['env'].get('evalray')} · ray {result['env'].get('ray')} · python {result['env'].get('python')}",
             ""]
    if result.get("error"):
        lines += [f"> error: {result['error']}", ""]
    lines += ["## Scores", "", "| model | benchmark | metric | value | stderr | 95% CI | n |", "|---|---|---|---:|---:|---|---:|"]
    for row in headline_rows(result):
        lines.append(f"| {row['model']} | {row['benchmark']} | {row['metric']} | {_fmt(row['value'])} | "
                     f"{_fmt(row['stderr'])} | [{_fmt(row['ci_low'])}, {_fmt(row['ci_high'])}] | {row['n']} |")
    detail = [r for r in result.get("scores", []) if r.get("level") in ("category", "subset")]
    if detail:
        lines += ["", "## By category and subset", "", "| model | benchmark | level | subset | metric | value | stderr | n |",
                  "|---|---|---|---|---|---:|---:|---:|"]
        for row in detail:
            lines.append(f"| {row['model']} | {row['benchmark']} | {row['level']} | {row['subset']} | {row['metric']} | "
                         f"{_fmt(row['value'])} | {_fmt(row['stderr'])} | {row['n']} |")
    lines += ["", "## Samples", "", "| model | benchmark | samples | errors |", "|---|---|---:|---:|"]
    for count in result.get("counts", []):
        lines.append(f"| {count['model']} | {count['benchmark']} | {count['samples']} | {count['errors']} |")
    return "\n".join(lines) + "\n"


def html_report(result: dict[str, Any]) -> str:
    """A self-contained page: plotly is inlined, so it opens offline."""
    import plotly.graph_objects as go
    from plotly.io import to_html

    rows = headline_rows(result)
    figure = go.Figure()
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model and r["value"] is not None]
        figure.add_bar(
            name=model, x=[f"{r['benchmark']} {r['metric']}" for r in mine], y=[r["value"] for r in mine],
            error_y=dict(type="data", array=[r["stderr"] or 0 for r in mine]),
        )
    figure.update_layout(title="Scores (error bars: standard error)", barmode="group", yaxis=dict(range=[0, 1]))
    chart = to_html(figure, full_html=False, include_plotlyjs=True)
    table = markdown_report(result)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>evalray report: "
        + html.escape(result["name"])
        + "</title><style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}</style></head><body>"
        + f"<h1>evalray report: {html.escape(result['name'])}</h1>{chart}<pre>{html.escape(table)}</pre>"
        + f"<details><summary>result.json</summary><pre>{html.escape(json.dumps(result, indent=2))}</pre></details>"
        + "</body></html>"
    )
