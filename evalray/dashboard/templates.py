"""The dashboard's own templates (the run, perf and compare bodies are shared with the static reports, see
:mod:`evalray.results.html_templates`). Autoescaped; links quote run paths with ``urlencode``."""

from __future__ import annotations

RUNS = """
<h1>Runs <span class="muted" id="runs-root">{{ root }}</span></h1>
<form class="filters" onsubmit="return false"><label>filter<input id="filter" type="search" value="{{ query }}"
 placeholder="name, model, benchmark, status"></label>
<button type="button" id="compare-selected">compare selected</button><span class="muted" id="refresh-note">
refreshes every {{ refresh_s }} s</span></form>
<table id="runs"><thead><tr><th></th><th>name</th><th>kind</th><th>status</th><th>models</th><th>benchmarks</th>
<th>started</th><th class="num">duration</th><th>path</th></tr></thead>
<tbody id="runs-body">{% include "runs_rows.html" %}</tbody></table>
<script>
const filterBox = document.getElementById("filter");
function applyFilter() {
  const q = filterBox.value.toLowerCase();
  for (const tr of document.querySelectorAll("#runs-body tr")) {
    tr.style.display = !q || tr.textContent.toLowerCase().includes(q) ? "" : "none";
  }
}
filterBox.addEventListener("input", applyFilter);
applyFilter();
async function refresh() {
  const checked = new Set([...document.querySelectorAll("#runs-body input:checked")].map(x => x.value));
  const response = await fetch("{{ base }}/fragment/runs");
  if (!response.ok) return;
  const html = await response.text();
  const body = document.getElementById("runs-body");
  if (body.dataset.html !== html) {
    body.innerHTML = html; body.dataset.html = html;
    for (const box of body.querySelectorAll("input")) box.checked = checked.has(box.value);
    applyFilter();
  }
}
setInterval(refresh, {{ refresh_s * 1000 }});
document.getElementById("compare-selected").addEventListener("click", () => {
  const picked = [...document.querySelectorAll("#runs-body input:checked")].map(x => "s=" + encodeURIComponent(x.value));
  window.location = "{{ base }}/compare?" + picked.join("&");
});
</script>
"""

RUNS_ROWS = """{% for r in runs %}<tr class="run-row" data-rel="{{ r.rel }}" data-kind="{{ r.kind }}">
<td>{% if r.kind == 'eval' and r.status not in ('running', 'stale') %}<input type="checkbox" value="{{ r.rel }}">{% endif %}</td>
<td><a class="run-link" href="{{ base }}/{{ 'perf' if r.kind == 'perf' else 'run' }}/{{ r.rel|urlencode }}">{{ r.name }}</a></td>
<td>{{ r.kind }}</td><td><span class="badge {{ r.status }}">{{ r.status }}</span>
{% if r.progress %}<span class="progress muted">{{ r.progress.done }}/{{ r.progress.expected }}
{% if r.progress.eta_s is not none %} · eta {{ '%.0f'|format(r.progress.eta_s) }} s{% endif %}</span>{% endif %}</td>
<td>{{ r.models|join(', ') }}</td><td>{{ r.benchmarks|join(', ') }}</td><td>{{ r.started or '-' }}</td>
<td class="num">{{ '%.1f s'|format(r.duration_s) if r.duration_s is not none else '-' }}</td><td class="muted">{{ r.rel }}</td></tr>
{% else %}<tr><td colspan="9" class="muted">no runs under {{ root }}</td></tr>{% endfor %}"""

PROGRESS = """{% if progress %}<div id="progress"><h2>Progress <span class="badge {{ progress.status }}">{{ progress.status }}</span></h2>
<p class="meta"><span id="progress-done">{{ progress.done }}</span> of {{ progress.expected }} samples ·
{{ progress.errors }} errors · {{ progress.rate }} samples/s ·
eta {{ '%.0f s'|format(progress.eta_s) if progress.eta_s is not none else '-' }} · updated {{ progress.updated }}</p>
<table><thead><tr><th>model</th><th>benchmark</th><th class="num">done</th><th class="num">expected</th>
<th class="num">errors</th></tr></thead><tbody>{% for i in progress['items'] %}<tr><td>{{ i.model }}</td>
<td>{{ i.benchmark }}</td><td class="num">{{ i.done }}</td><td class="num">{{ i.expected }}</td><td class="num">{{ i.errors }}</td>
</tr>{% endfor %}</tbody></table></div>{% endif %}"""

RUN_PAGE = """<p class="meta"><a href="{{ base }}/">runs</a> / {{ rel }} ·
{% if models|length > 1 %}<a id="compare-models" href="{{ compare_href }}">compare its models</a> · {% endif %}
<a href="{{ base }}/files/{{ rel|urlencode }}/report.html">report.html</a> ·
<a href="{{ base }}/files/{{ rel|urlencode }}/result.json">result.json</a>
{% if arena %} · <a href="{{ base }}/arena/{{ rel|urlencode }}">arena</a>{% endif %}</p>
{% include "progress.html" %}
{% if live %}<script>setInterval(async () => {
  const r = await fetch("{{ base }}/fragment/progress/{{ rel|urlencode }}");
  if (!r.ok) return; const html = await r.text();
  if (!html.trim()) { window.location.reload(); return; }
  document.getElementById("progress").outerHTML = html;
}, 2000);</script>{% endif %}
{{ body|safe }}
{% if error_kinds %}<h2>Errors by message</h2><table id="error-kinds"><thead><tr><th>model</th><th>benchmark</th>
<th>error</th><th class="num">samples</th></tr></thead><tbody>{% for e in error_kinds %}<tr><td>{{ e.model }}</td>
<td>{{ e.benchmark }}</td><td>{{ e.error }}</td><td class="num">{{ e.count }}</td></tr>{% endfor %}</tbody></table>{% endif %}
"""

SAMPLES = """<p class="meta"><a href="{{ base }}/">runs</a> / <a href="{{ base }}/run/{{ rel|urlencode }}">{{ rel }}</a> / samples</p>
<h1>Samples: {{ model }} · {{ benchmark }}</h1>
<form class="filters" method="get" id="sample-filters">
<label>model / benchmark<select name="pick" id="pick" onchange="const [m, b] = JSON.parse(this.value);
 this.form.model.value = m; this.form.benchmark.value = b; this.form.subset.value = ''; this.form.submit()">
{% for m, b in pairs %}<option value='{{ [m, b]|tojson }}'{% if m == model and b == benchmark %} selected{% endif %}>{{ m }} · {{ b }}</option>{% endfor %}
</select></label><input type="hidden" name="model" value="{{ model }}"><input type="hidden" name="benchmark" value="{{ benchmark }}">
<label>subset<select name="subset" id="subset"><option value="">(all)</option>{% for s in subsets %}
<option value="{{ s }}"{% if s == subset %} selected{% endif %}>{{ s }}</option>{% endfor %}</select></label>
<label>status<select name="status" id="status">{% for s in statuses %}<option value="{{ s }}"{% if s == status %} selected{% endif %}>
{{ s }} ({{ page.counts[s] }})</option>{% endfor %}</select></label>
<label>search<input type="search" name="q" id="search" value="{{ q }}"></label>
<label>per page<select name="size">{% for n in (10, 25, 50, 100) %}<option{% if n == page.page_size %} selected{% endif %}>{{ n }}</option>{% endfor %}</select></label>
<button type="submit" id="apply">apply</button></form>
<p class="meta" id="sample-summary"><span id="matched">{{ page.matched }}</span> of <span id="total">{{ page.total }}</span>
samples match · page {{ page.page }} of {{ page.pages }} · primary metric {{ primary or '-' }}</p>
<table class="samples" id="samples"><thead><tr><th>id</th><th>subset</th><th>result</th><th>{{ primary or 'score' }}</th>
<th>extracted</th><th>target</th><th>details</th></tr></thead><tbody>
{% for r in rows %}<tr class="sample-row" data-id="{{ r.id }}" data-correct="{{ 'true' if r._correct else 'false' }}">
<td class="sample-id">{{ r.id }}</td><td>{{ r.subset or '-' }}</td>
<td>{% if r.error %}<span class="badge error">error</span>{% elif r._correct %}<span class="badge correct">correct</span>
{% else %}<span class="badge incorrect">incorrect</span>{% endif %}</td><td class="num">{{ fmt(r._score) }}</td>
<td>{{ r.extracted if r.extracted is not none else '-' }}</td><td>{{ r.target }}</td>
<td><details><summary>show</summary>
{% if r.error %}<p class="error-banner">{{ r.error }}</p>{% endif %}
{% if r._details.messages %}<h4>messages</h4>{% for m in r._details.messages %}<p><b>{{ m.role }}</b></p><pre>{{ m.content }}</pre>{% endfor %}
{% else %}<h4>prompt</h4><pre class="prompt">{{ r.prompt }}</pre>{% endif %}
{% if r._details.choices %}<h4>log-likelihoods per choice</h4><table>{% for c in r._details.choices %}
<tr{% if c.best %} class="best"{% endif %}><td><pre>{{ c.text }}</pre></td><td class="num">{{ '%.4f'|format(c.ll) }}</td></tr>{% endfor %}</table>
{% else %}<h4>raw output</h4><pre class="output">{{ r.output }}</pre>
{% if r._details.texts|length > 1 %}<p class="muted">{{ r._details.texts|length }} samples (repeats)</p>{% endif %}{% endif %}
<h4>scores</h4><pre>{{ r._details.scores|tojson }}</pre>
{% for k, v in r._extra.items() %}<h4>{{ k }}</h4><pre>{{ v }}</pre>{% endfor %}
<p class="muted">served by {{ r.served_by or '-' }} on {{ r.node_id or '-' }}</p></details></td></tr>
{% else %}<tr><td colspan="7" class="muted">no sample matches</td></tr>{% endfor %}</tbody></table>
<p id="pager">{% if page.page > 1 %}<a id="prev" href="{{ page_href(page.page - 1) }}">← previous</a>{% endif %}
{% if page.page < page.pages %} <a id="next" href="{{ page_href(page.page + 1) }}">next →</a>{% endif %}</p>
"""

PICK = """<h1>Compare</h1><p>Pick 2 to 4 models (of one or several eval runs); the first is the baseline.</p>
{% if message %}<p class="error-banner">{{ message }}</p>{% endif %}
<form method="get" action="{{ base }}/compare" id="compare-pick"><table><tbody>
{% for value, label in options %}<tr><td><input type="checkbox" name="s" value="{{ value }}"{% if value in chosen %} checked{% endif %}></td>
<td>{{ label }}</td></tr>{% endfor %}</tbody></table><button type="submit">compare</button></form>"""

MESSAGE = """<h1>{{ heading }}</h1><p>{{ message }}</p><p><a href="{{ base }}/">back to the runs</a></p>"""

ARENA = """<p class="meta"><a href="{{ base }}/">runs</a> / <a href="{{ base }}/run/{{ rel|urlencode }}">{{ rel }}</a> / arena</p>
<h1>Arena</h1>
{% for a in blocks %}<h2>{{ a.benchmark }} <span class="muted">{{ a.mode }}{% if a.baseline %} · baseline {{ a.baseline }}{% endif %}
{% if a.judges %} · judges {{ a.judges|join(', ') }}{% endif %}{% if a.battles %} · {{ a.battles }} battles{% endif %}</span></h2>
<table class="arena-leaderboard" data-benchmark="{{ a.benchmark }}"><thead><tr><th>#</th><th>model</th>
<th class="num">{{ a.value_name }}</th><th>95% interval</th><th class="num">n</th></tr></thead><tbody>
{% for r in a.rows %}<tr><td class="num">{{ loop.index }}</td><td>{{ r.model }}</td><td class="num">{{ r.value }}</td>
<td>{% if r.lower != '-' %}[{{ r.lower }}, {{ r.upper }}]{% else %}-{% endif %}</td><td class="num">{{ r.n }}</td></tr>{% endfor %}
</tbody></table>
{{ a.heatmap|safe }}
{% if a.pairs %}<details><summary>battles per pair</summary><table><thead><tr><th>model A</th><th>model B</th>
<th class="num">battles</th><th class="num">A's win rate</th></tr></thead><tbody>{% for p in a.pairs %}<tr><td>{{ p.a }}</td>
<td>{{ p.b }}</td><td class="num">{{ p.n }}</td><td class="num">{{ p.rate }}</td></tr>{% endfor %}</tbody></table></details>{% endif %}
{% else %}<p class="muted" id="arena-empty">No arena results in this run: they appear once a judged benchmark (pairwise or
single-answer grading) has run.</p>{% endfor %}"""

TEMPLATES = (("runs.html", RUNS), ("runs_rows.html", RUNS_ROWS), ("progress.html", PROGRESS),
             ("run_page.html", RUN_PAGE), ("samples.html", SAMPLES), ("pick.html", PICK), ("message.html", MESSAGE),
             ("arena.html", ARENA))
