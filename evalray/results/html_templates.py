"""Jinja templates shared by the static reports and the dashboard (autoescaped: prompts and outputs are untrusted).

Kept as Python strings so that they ship with the package without package-data rules. ``base.html`` is the page shell:
plotly is either inlined (``plotly_js``: static reports, which open offline) or loaded from ``plotly_src`` (the
dashboard serves the copy of the installed plotly package). Other templates extend it or are included by the
dashboard's own templates (:mod:`evalray.dashboard.templates`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{padding:1.2em 2em 3em}h1{font-size:1.5em;margin:.2em 0 .4em}h2{font-size:1.2em;margin:1.6em 0 .5em}
h3{font-size:1.02em;margin:1.2em 0 .4em}
nav{background:#1d2330;padding:.6em 2em}nav a{color:#e8ecf3;margin-right:1.4em;text-decoration:none}
nav a.brand{font-weight:700}
table{border-collapse:collapse;margin:.4em 0 1em;background:#fff;font-size:.9em}
th,td{border:1px solid #dde2ea;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#5a6473;font-size:.92em}.badge{display:inline-block;padding:0 .5em;border-radius:.8em;font-size:.85em}
.completed,.correct,.met{background:#dff5e1;color:#14602a}.partial,.running,.interrupted{background:#fff3cd;color:#7a5b00}
.failed,.incorrect,.error,.missed,.stale{background:#fde2e1;color:#8a1c1c}
pre{background:#f3f5f8;padding:.7em;overflow:auto;white-space:pre-wrap;word-break:break-word;max-height:30em}
.error-banner{background:#fde2e1;padding:.6em 1em;border-radius:.3em}
details{margin:.3em 0}summary{cursor:pointer}.sig{font-weight:700}.muted{color:#8a93a0}
form.filters{display:flex;flex-wrap:wrap;gap:.8em;align-items:end;margin:.6em 0}
form.filters label{display:flex;flex-direction:column;font-size:.85em;color:#5a6473}
input,select,button{font-size:.95em;padding:.25em .4em}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:1em}
.sample td pre{max-height:18em;margin:0}.best{font-weight:700}
"""

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ title }}</title><style>{{ css|safe }}</style>
{% if plotly_js %}<script type="text/javascript">{{ plotly_js|safe }}</script>{% endif %}
{% if plotly_src %}<script src="{{ plotly_src }}"></script>{% endif %}
</head><body>
{% if nav %}<nav>{% for label, href in nav %}<a href="{{ href }}"{% if loop.first %} class="brand"{% endif %}>{{ label }}</a>{% endfor %}</nav>{% endif %}
<main>
{% block body %}{{ body|safe }}{% endblock %}
</main>
</body></html>
"""

RUN = """
<h1>{{ run.name }} <span class="badge {{ run.status }}" id="run-status">{{ run.status }}</span></h1>
<p class="meta">run <code>{{ run.run_id }}</code> · started {{ run.started }} · finished {{ run.finished }}
 · duration {{ run.duration }}</p>
{% if run.error %}<p class="error-banner">error: {{ run.error }}</p>{% endif %}
<h2>Scores</h2>
<table id="scores"><thead><tr><th>model</th><th>benchmark</th><th>metric</th><th class="num">value</th>
<th class="num">stderr</th><th>95% CI</th><th class="num">n</th></tr></thead><tbody>
{% for r in run.headline %}<tr data-model="{{ r.model }}" data-benchmark="{{ r.benchmark }}" data-metric="{{ r.metric }}">
<td>{{ r.model }}</td><td>{{ r.benchmark }}</td><td>{{ r.metric }}</td><td class="num value">{{ r.value }}</td>
<td class="num">{{ r.stderr }}</td><td>[{{ r.ci_low }}, {{ r.ci_high }}]</td><td class="num n">{{ r.n }}</td></tr>
{% endfor %}</tbody></table>
{{ run.figures.scores|safe }}
{% if run.breakdown %}<h2>By category and subset</h2>
{% for b in run.breakdown %}<h3>{{ b.benchmark }} · {{ b.metric }}</h3>
<details{% if b.rows|length <= 12 %} open{% endif %}><summary>{{ b.rows|length }} rows</summary>
<table class="breakdown" data-benchmark="{{ b.benchmark }}"><thead><tr><th>level</th><th>subset</th>
{% for m in b.models %}<th class="num">{{ m }}</th><th>95% CI</th><th class="num">n</th>{% endfor %}</tr></thead><tbody>
{% for row in b.rows %}<tr><td>{{ row.level }}</td><td>{{ row.subset }}</td>
{% for c in row.cells %}<td class="num">{{ c.value }}</td><td>[{{ c.ci_low }}, {{ c.ci_high }}]</td><td class="num">{{ c.n }}</td>{% endfor %}
</tr>{% endfor %}</tbody></table></details>
{{ b.figure|safe }}
{% endfor %}{% endif %}
<h2>Samples and errors</h2>
<table id="counts"><thead><tr><th>model</th><th>benchmark</th><th class="num">samples</th><th class="num">expected</th>
<th class="num">errors</th>{% if links %}<th></th>{% endif %}</tr></thead><tbody>
{% for c in run.counts %}<tr><td>{{ c.model }}</td><td>{{ c.benchmark }}</td><td class="num">{{ c.samples }}</td>
<td class="num">{{ c.expected }}</td><td class="num">{{ c.errors }}</td>
{% if links %}<td><a class="samples-link" href="{{ links.samples }}?model={{ c.model|urlencode }}&benchmark={{ c.benchmark|urlencode }}">samples</a></td>{% endif %}</tr>
{% endfor %}</tbody></table>
{% if run.actors %}<details><summary>actors ({{ run.actors|length }})</summary><table><thead><tr><th>model</th>
<th>actor</th><th>node</th><th class="num">samples</th></tr></thead><tbody>{% for a in run.actors %}<tr><td>{{ a.model }}</td>
<td><code>{{ a.actor_id }}</code></td><td><code>{{ a.node_id }}</code></td><td class="num">{{ a.samples }}</td></tr>
{% endfor %}</tbody></table></details>{% endif %}
<h2>Environment</h2><table id="env">{% for k, v in run.env %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
<h2>Resolved job</h2><details><summary>job</summary><pre id="job">{{ run.job_yaml }}</pre></details>
"""

PERF = """
<h1>{{ perf.title }} <span class="badge {{ perf.status }}">{{ perf.status }}</span></h1>
<p class="meta">created {{ perf.created }} · {{ perf.target }} · times in ms</p>
<h2>Summary</h2>
<table id="perf-summary"><thead><tr>{% for h in perf.header %}<th class="num">{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in perf.rows %}<tr>{% for cell in row %}<td class="num">{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</tbody></table>
{% if perf.search %}<p id="perf-search">highest rate meeting the SLOs: <b>{{ perf.search.best_rate }}</b> req/s
({{ perf.search.probes }} probes)</p>{% endif %}
{% if perf.slo %}<h2>SLO verdicts</h2><table id="perf-slo"><thead><tr><th>point</th><th>SLO</th><th class="num">threshold</th>
<th class="num">measured</th><th>verdict</th></tr></thead><tbody>
{% for s in perf.slo %}<tr><td>{{ s.point }}</td><td>{{ s.key }}</td><td class="num">{{ s.threshold }}</td>
<td class="num">{{ s.value }}</td><td><span class="badge {{ 'met' if s.met else 'missed' }}">{{ 'met' if s.met else 'missed' }}</span></td></tr>
{% endfor %}</tbody></table>{% endif %}
<h2>Errors by kind</h2>
{% if perf.errors %}<table id="perf-errors"><thead><tr><th>point</th><th>kind</th><th class="num">count</th></tr></thead><tbody>
{% for e in perf.errors %}<tr><td>{{ e.point }}</td><td>{{ e.kind }}</td><td class="num">{{ e.count }}</td></tr>{% endfor %}
</tbody></table>{% else %}<p id="perf-errors">no errors</p>{% endif %}
{{ perf.figures.errors|safe }}
<h2>Latency distributions</h2><div class="grid">{% for f in perf.figures.cdfs %}<div>{{ f|safe }}</div>{% endfor %}</div>
<h2>Over time</h2>{{ perf.figures.throughput|safe }}{{ perf.figures.latency|safe }}
{% if perf.figures.sweep %}<h2>Sweep</h2>{{ perf.figures.sweep|safe }}{% endif %}
"""

COMPARE = """
<h1>Comparison: {{ cmp.labels|join(' vs ') }}</h1>
<p class="meta">baseline: <b>{{ cmp.labels[0] }}</b>; differences are (other − baseline); 95% intervals; paired
statistics (McNemar exact and mid-p, paired bootstrap) on the items both scored.</p>
<table id="selections"><thead><tr><th>label</th><th>run</th><th>model</th><th>run id</th></tr></thead><tbody>
{% for s in cmp.selections %}<tr><td>{{ s.label }}</td><td>{{ s.rel }}</td><td>{{ s.model }}</td><td><code>{{ s.run_id }}</code></td></tr>{% endfor %}
</tbody></table>
{{ cmp.figure|safe }}
{% for pair in cmp.pairs %}<h2>{{ pair.other }} vs {{ pair.base }}</h2>
{% for b in pair.benchmarks %}<h3>{{ b.benchmark }}</h3>
<table class="difference" data-benchmark="{{ b.benchmark }}" data-other="{{ pair.other }}"><thead><tr><th>subset</th><th>metric</th>
<th class="num">{{ pair.base }}</th><th class="num">{{ pair.other }}</th><th class="num">difference</th><th>95% CI</th>
<th>bootstrap 95% CI</th><th class="num">n paired</th><th class="num">right→wrong</th><th class="num">wrong→right</th>
<th class="num">McNemar p</th><th class="num">mid-p</th><th class="num">bootstrap p</th></tr></thead><tbody>
{% for r in b.rows %}<tr{% if r.subset == '(all)' %} class="overall"{% endif %}><td>{{ r.subset }}</td><td>{{ r.metric }}</td>
<td class="num">{{ r.mean_a }}</td><td class="num">{{ r.mean_b }}</td><td class="num diff{% if r.significant %} sig{% endif %}">{{ r.diff }}</td>
<td>[{{ r.ci_low }}, {{ r.ci_high }}]</td><td>[{{ r.boot_low }}, {{ r.boot_high }}]</td><td class="num">{{ r.n }}</td>
<td class="num">{{ r.b }}</td><td class="num">{{ r.c }}</td><td class="num pvalue">{{ r.mcnemar_p }}</td>
<td class="num">{{ r.mcnemar_mid_p }}</td><td class="num">{{ r.boot_p }}</td></tr>{% endfor %}
</tbody></table>
{% for kind, title in (('right_to_wrong', 'right → wrong'), ('wrong_to_right', 'wrong → right')) %}
<details class="flips {{ kind }}" data-benchmark="{{ b.benchmark }}" data-count="{{ b[kind]|length }}">
<summary>{{ title }}: {{ b[kind]|length }} items ({{ b.primary }})</summary>
{% if b[kind] %}<table class="sample"><thead><tr><th>id</th><th>prompt</th><th>target</th><th>{{ pair.base }}</th><th>{{ pair.other }}</th></tr></thead><tbody>
{% for item in b.details[kind] %}<tr><td class="flip-id">{{ item.id }}</td><td><pre>{{ item.prompt }}</pre></td><td>{{ item.target }}</td>
<td><pre>{{ item.output_a }}</pre><span class="muted">extracted: {{ item.extracted_a }}</span></td>
<td><pre>{{ item.output_b }}</pre><span class="muted">extracted: {{ item.extracted_b }}</span></td></tr>{% endfor %}
</tbody></table>{% if b[kind]|length > b.details[kind]|length %}<p class="muted">first {{ b.details[kind]|length }} shown; all ids:
{{ b[kind]|join(', ') }}</p>{% endif %}{% endif %}</details>{% endfor %}
{% endfor %}{% endfor %}
"""

TEMPLATES = {"base.html": BASE, "run.html": RUN, "perf.html": PERF, "compare.html": COMPARE}


@lru_cache(maxsize=1)
def environment(extra: tuple[tuple[str, str], ...] = ()):
    """The Jinja environment (autoescaping on) with these templates and any ``extra`` (name, source) pairs."""
    from jinja2 import DictLoader, Environment, StrictUndefined

    env = Environment(loader=DictLoader({**TEMPLATES, **dict(extra)}), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=True)
    env.globals["css"] = CSS
    return env


def render(name: str, extra: tuple[tuple[str, str], ...] = (), **context: Any) -> str:
    return environment(extra).get_template(name).render(**context)


def page(title: str, body: str, plotly_js: str | None = None, plotly_src: str | None = None,
         nav: list[tuple[str, str]] | None = None) -> str:
    """A whole page around ``body`` (already-rendered, escaped HTML)."""
    return render("base.html", title=title, body=body, plotly_js=plotly_js, plotly_src=plotly_src, nav=nav or [])


def inline_plotly() -> str:
    """The plotly.js bundle of the installed plotly package (for self-contained pages)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()
