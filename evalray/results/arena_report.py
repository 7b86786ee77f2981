"""The arena and comparison parts of ``report.md`` / ``report.html``: per judged benchmark a leaderboard with the
Bradley–Terry ratings and their 95% intervals, a win-rate heatmap (row model's observed win rate against the column
model), judge errors and agreement; and the paired comparisons of every benchmark. Deterministic output (no
timestamps, sorted keys), so reports stay byte-for-byte reproducible."""

from __future__ import annotations

import html
from typing import Any


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def arena_markdown(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for block in result.get("arena") or []:
        lines += ["", f"## Arena: {block['benchmark']} ({block['mode']})", ""]
        if block.get("baseline"):
            lines.append(f"baseline: {block['baseline']} · judges: {', '.join(block.get('judges', []))}")
            lines.append("")
        if block.get("ratings"):
            lines += ["| rank | model | rating | 95% CI |", "|---:|---|---:|---|"]
            for i, r in enumerate(block["ratings"], 1):
                lines.append(f"| {i} | {r['model']} | {_f(r['rating'], 1)} | [{_f(r['lower'], 1)}, {_f(r['upper'], 1)}] |")
            matrix = block.get("win_rate_matrix") or {}
            models = sorted(matrix)
            if models:
                lines += ["", "win rate (row vs column): ", "",
                          ("| | " + " | ".join(models) + " |"), ("|---|" + "---:|" * len(models))]
                for a in models:
                    lines.append(f"| {a} | " + " | ".join(_f(matrix[a].get(b)) if b != a else "-" for b in models) + " |")
        elif block.get("leaderboard"):
            lines += ["| rank | model | score | n |", "|---:|---|---:|---:|"]
            for i, r in enumerate(block["leaderboard"], 1):
                lines.append(f"| {i} | {r['model']} | {_f(r['score'])} | {r['n']} |")
        agreement = block.get("agreement")
        if agreement:
            lines += ["", (f"judge agreement: {_f(agreement.get('percent_agreement'))} (percent), Cohen's kappa "
                           f"{_f(agreement.get('cohen_kappa'))}, Krippendorff's alpha "
                           f"{_f(agreement.get('krippendorff_alpha'))} over {agreement.get('items')} items")]
    errors = [e for e in result.get("judge_errors") or [] if e.get("errors")]
    if errors:
        lines += ["", "## Judge errors (excluded)", "", "| benchmark | judge | model | judgments | unparsable | failed |",
                  "|---|---|---|---:|---:|---:|"]
        lines += [f"| {e['benchmark']} | {e['judge']} | {e['model']} | {e['judgments']} | {e['unparsable']} | "
                  f"{e['failed']} |" for e in errors]
    comparisons = result.get("comparisons") or []
    if comparisons:
        lines += ["", "## Paired comparisons", "", "| benchmark | metric | A | B | n | B - A | 95% CI | p | test |",
                  "|---|---|---|---|---:|---:|---|---:|---|"]
        lines += [f"| {c['benchmark']} | {c['metric']} | {c['model_a']} | {c['model_b']} | {c['n']} | "
                  f"{_f(c['difference'], 4)} | [{_f(c['ci_low'], 4)}, {_f(c['ci_high'], 4)}] | {_f(c['p_value'], 4)} | "
                  f"{c['test']} |" for c in comparisons]
    return lines


def _cell(value: float | None) -> str:
    if value is None:
        return "<td>-</td>"
    shade = round(255 - 120 * abs(value - 0.5) * 2)
    color = f"rgb({shade},{255},{shade})" if value >= 0.5 else f"rgb({255},{shade},{shade})"
    return f'<td style="background:{color};text-align:right">{value:.3f}</td>'


def arena_html(result: dict[str, Any]) -> str:
    parts: list[str] = []
    esc = html.escape
    for block in result.get("arena") or []:
        parts.append(f"<section><h2>Arena: {esc(block['benchmark'])} ({esc(block['mode'])})</h2>")
        if block.get("ratings"):
            parts.append("<table><tr><th>rank</th><th>model</th><th>rating</th><th>95% CI</th></tr>")
            for i, r in enumerate(block["ratings"], 1):
                parts.append(f"<tr><td>{i}</td><td>{esc(r['model'])}</td><td>{_f(r['rating'], 1)}</td>"
                             f"<td>[{_f(r['lower'], 1)}, {_f(r['upper'], 1)}]</td></tr>")
            parts.append("</table>")
            matrix = block.get("win_rate_matrix") or {}
            models = sorted(matrix)
            if models:
                parts.append("<h3>Win rate (row vs column)</h3><table><tr><th></th>"
                             + "".join(f"<th>{esc(m)}</th>" for m in models) + "</tr>")
                for a in models:
                    parts.append(f"<tr><th>{esc(a)}</th>" + "".join(
                        _cell(matrix[a].get(b)) if b != a else "<td>-</td>" for b in models) + "</tr>")
                parts.append("</table>")
        elif block.get("leaderboard"):
            parts.append("<table><tr><th>rank</th><th>model</th><th>score</th><th>n</th></tr>")
            for i, r in enumerate(block["leaderboard"], 1):
                parts.append(f"<tr><td>{i}</td><td>{esc(r['model'])}</td><td>{_f(r['score'])}</td>"
                             f"<td>{r['n']}</td></tr>")
            parts.append("</table>")
        parts.append("</section>")
    comparisons = result.get("comparisons") or []
    if comparisons:
        parts.append("<section><h2>Paired comparisons</h2><table><tr><th>benchmark</th><th>metric</th><th>A</th>"
                     "<th>B</th><th>n</th><th>B - A</th><th>95% CI</th><th>p</th><th>test</th></tr>")
        for c in comparisons:
            parts.append(f"<tr><td>{esc(c['benchmark'])}</td><td>{esc(c['metric'])}</td><td>{esc(c['model_a'])}</td>"
                         f"<td>{esc(c['model_b'])}</td><td>{c['n']}</td><td>{_f(c['difference'], 4)}</td>"
                         f"<td>[{_f(c['ci_low'], 4)}, {_f(c['ci_high'], 4)}]</td><td>{_f(c['p_value'], 4)}</td>"
                         f"<td>{esc(c['test'])}</td></tr>")
        parts.append("</table></section>")
    return "\n".join(parts)
