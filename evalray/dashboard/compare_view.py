"""Views of a comparison (:func:`evalray.dashboard.comparison.build_comparison`): grouped bars with 95% intervals,
a difference table with paired significance per benchmark and subset, and the flipped items with prompts and outputs.
Used by the dashboard's compare page, ``evalray compare -o`` and ``evalray report RUN_A RUN_B``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalray.results.html_views import error_bars, figure_div, fmt

if TYPE_CHECKING:
    from evalray.dashboard.comparison import Comparison

DETAIL_LIMIT = 100
ALPHA = 0.05


def fmt_p(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _significant(row: dict[str, Any]) -> bool:
    p = row.get("mcnemar_p") if row.get("mcnemar_p") is not None else row.get("boot_p")
    return p is not None and p < ALPHA


def table_row(row: dict[str, Any]) -> dict[str, Any]:
    """A difference row as displayed (4 decimals, p-values with 4 significant digits)."""
    return {"subset": row["subset"] if row["subset"] is not None else "(all)", "metric": row["metric"],
            "mean_a": fmt(row["mean_a"]), "mean_b": fmt(row["mean_b"]), "diff": fmt(row["diff"]),
            "ci_low": fmt(row["ci_low"]), "ci_high": fmt(row["ci_high"]), "boot_low": fmt(row["boot_low"]),
            "boot_high": fmt(row["boot_high"]), "n": row["n"] if row["paired"] else f"unpaired ({row['n_a']}/{row['n_b']})",
            "b": fmt(row["b"]), "c": fmt(row["c"]), "mcnemar_p": fmt_p(row["mcnemar_p"]),
            "mcnemar_mid_p": fmt_p(row["mcnemar_mid_p"]), "boot_p": fmt_p(row["boot_p"]),
            "significant": _significant(row)}


def comparison_figure(comparison: "Comparison"):
    import plotly.graph_objects as go

    figure = go.Figure()
    primaries = {b.benchmark: b.primary for b in comparison.pairs[0].benchmarks}
    for index, selection in enumerate(comparison.selections):
        rows = []
        for benchmark in comparison.benchmarks:
            row = comparison.headline(index, benchmark, primaries.get(benchmark))
            if row is not None and row.get("value") is not None:
                rows.append(row)
        figure.add_bar(name=selection.label, x=[f"{r['benchmark']} · {r['metric']}" for r in rows],
                       y=[r["value"] for r in rows], error_y=error_bars(rows))
    figure.update_layout(title="Scores (error bars: 95% interval)", barmode="group", yaxis={"range": [0, 1.05]},
                         height=420, legend={"orientation": "h"})
    return figure


def compare_view(comparison: "Comparison", detail_limit: int = DETAIL_LIMIT) -> dict[str, Any]:
    """The context of the ``compare.html`` template."""
    from evalray.dashboard.comparison import flip_details

    labels = [s.label for s in comparison.selections]
    pairs = []
    for pair in comparison.pairs:
        benchmarks = []
        for result in pair.benchmarks:
            benchmarks.append({
                "benchmark": result.benchmark, "primary": result.primary,
                "rows": [table_row(r) for r in result.rows],
                "right_to_wrong": result.right_to_wrong, "wrong_to_right": result.wrong_to_right,
                "details": {kind: flip_details(comparison, pair, result, kind, detail_limit)
                            for kind in ("right_to_wrong", "wrong_to_right")},
            })
        pairs.append({"base": labels[pair.base], "other": labels[pair.other], "benchmarks": benchmarks})
    selections = [{"label": s.label, "rel": s.rel, "model": s.model, "run_id": s.result.get("run_id", "?")}
                  for s in comparison.selections]
    return {"labels": labels, "selections": selections, "pairs": pairs,
            "figure": figure_div(comparison_figure(comparison), "compare-chart")}


def compare_body(comparison: "Comparison", detail_limit: int = DETAIL_LIMIT) -> str:
    from evalray.results.html_templates import render

    return render("compare.html", cmp=compare_view(comparison, detail_limit))


def comparison_html(comparison: "Comparison") -> str:
    """A self-contained comparison report (plotly inlined)."""
    from evalray.results.html_templates import inline_plotly, page

    labels = " vs ".join(s.label for s in comparison.selections)
    return page(f"evalray comparison: {labels}", compare_body(comparison), plotly_js=inline_plotly())


def comparison_markdown(comparison: "Comparison") -> str:
    labels = [s.label for s in comparison.selections]
    lines = [f"# evalray comparison: {' vs '.join(labels)}", "",
             f"Baseline **{labels[0]}**; difference = other − baseline, 95% intervals, McNemar exact p on the items "
             "both scored.", ""]
    for pair in comparison.pairs:
        lines += [f"## {labels[pair.other]} vs {labels[pair.base]}", "",
                  "| benchmark | subset | metric | baseline | other | difference | 95% CI | n | McNemar p | bootstrap p |",
                  "|---|---|---|---:|---:|---:|---|---:|---:|---:|"]
        for result in pair.benchmarks:
            for raw in result.rows:
                r = table_row(raw)
                lines.append(f"| {result.benchmark} | {r['subset']} | {r['metric']} | {r['mean_a']} | {r['mean_b']} | "
                             f"{r['diff']} | [{r['ci_low']}, {r['ci_high']}] | {r['n']} | {r['mcnemar_p']} | {r['boot_p']} |")
        lines.append("")
        for result in pair.benchmarks:
            lines += [f"- {result.benchmark}: right → wrong ({len(result.right_to_wrong)}): "
                      + (", ".join(result.right_to_wrong) or "none"),
                      f"- {result.benchmark}: wrong → right ({len(result.wrong_to_right)}): "
                      + (", ".join(result.wrong_to_right) or "none")]
        lines.append("")
    return "\n".join(lines)


def arena_view(block: dict[str, Any], index: int) -> dict[str, Any]:
    """One judged benchmark's ``arena`` block of result.json: the leaderboard with intervals (Bradley-Terry ratings,
    or mean single-answer grades), the observed win-rate heatmap and the battles per pair."""
    import plotly.graph_objects as go

    if block.get("ratings"):
        rows = [{"model": r["model"], "value": fmt(r.get("rating"), 1), "lower": fmt(r.get("lower"), 1),
                 "upper": fmt(r.get("upper"), 1), "n": "-"} for r in block["ratings"]]
        value_name = "rating"
    else:
        rows = [{"model": r.get("model"), "value": fmt(r.get("score")), "lower": "-", "upper": "-", "n": r.get("n", "-")}
                for r in block.get("leaderboard") or [] if isinstance(r, dict)]
        value_name = "score"
    matrix = block.get("win_rate_matrix") or {}
    heatmap = ""
    if matrix:
        models = [r["model"] for r in rows if r["model"] in matrix] or sorted(matrix)
        z = [[(matrix.get(a) or {}).get(b) for b in models] for a in models]
        figure = go.Figure(go.Heatmap(z=z, x=models, y=models, zmin=0, zmax=1, colorscale="RdBu",
                                      hovertemplate="%{y} beats %{x}: %{z:.3f}<extra></extra>"))
        figure.update_layout(title="Win rate of the row model against the column model", height=420,
                             yaxis={"autorange": "reversed"})
        heatmap = figure_div(figure, f"arena-heatmap-{index}")
    counts = block.get("battle_counts") or {}
    pairs = [{"a": a, "b": b, "n": fmt(n, 0) if isinstance(n, float) else n,
              "rate": fmt((matrix.get(a) or {}).get(b))}
             for a in sorted(counts) for b, n in sorted(counts[a].items()) if a < b]
    return {"benchmark": block.get("benchmark", "?"), "mode": block.get("mode", ""), "baseline": block.get("baseline"),
            "judges": block.get("judges") or [], "battles": block.get("battles"), "rows": rows,
            "value_name": value_name, "heatmap": heatmap, "pairs": pairs}
