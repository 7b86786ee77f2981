"""Human-readable reports of a ``result.json``: a console table, Markdown and a self-contained HTML page (plotly).

The HTML page is built from :mod:`evalray.results.html_views` (the dashboard's run page); perf reports live in
:mod:`evalray.loadgen.report_html` and comparison reports in :mod:`evalray.dashboard.compare_view`.
"""

from __future__ import annotations

from typing import Any

from evalray.results.html_views import headline_rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


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
    from evalray.results.arena_report import arena_markdown

    lines += arena_markdown(result)  # judged benchmarks' leaderboards, win rates; paired comparisons
    lines += ["", "## Samples", "", "| model | benchmark | samples | errors |", "|---|---|---:|---:|"]
    for count in result.get("counts", []):
        lines.append(f"| {count['model']} | {count['benchmark']} | {count['samples']} | {count['errors']} |")
    return "\n".join(lines) + "\n"


def html_report(result: dict[str, Any]) -> str:
    """A self-contained page with the views of the dashboard's run page: plotly is inlined, so it opens offline, and
    the same result always gives the same bytes."""
    from evalray.results.html_templates import inline_plotly, page
    from evalray.results.html_views import run_body

    from evalray.results.arena_report import arena_html

    return page(f"evalray report: {result.get('name', '?')}", run_body(result) + arena_html(result),
                plotly_js=inline_plotly())
