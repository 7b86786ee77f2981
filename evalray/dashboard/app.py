"""The dashboard's routes (Starlette). Read-only: every handler only reads files under the runs root, and every
path taken from a URL goes through :func:`~evalray.dashboard.runs.resolve_inside` (anything else is a 404).

Pages: ``/`` runs list (live refresh), ``/run/<run>`` one eval run (live progress while it runs), ``/samples/<run>``
the sample viewer (paged on the server), ``/compare?s=<run>[::<model>]&s=...`` 2–4 models, ``/perf/<run>`` perf
charts, ``/arena/<run>`` pairwise results. JSON: ``/api/runs``, ``/api/samples/<run>``, ``/api/progress/<run>``.
Files: ``/files/<run>/<name>`` (reports and JSON of a run), ``/static/plotly.min.js`` (from the plotly package).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from evalray.dashboard import runs as run_files
from evalray.dashboard.samples import PAGE_SIZE, STATUSES, SampleCache, page_of, sample_details, warm_up
from evalray.dashboard.templates import TEMPLATES
from evalray.errors import EvalrayError
from evalray.results.html_templates import page, render
from evalray.results.html_views import fmt

REFRESH_S = 2
SERVED_SUFFIXES = {".html", ".md", ".json", ".jsonl", ".parquet", ".yaml", ".txt", ".png"}
PLOTLY_SRC = "/static/plotly.min.js"


def _render(name: str, **context: Any) -> str:
    return render(name, extra=TEMPLATES, base="", **context)


def _nav() -> list[tuple[str, str]]:
    return [("evalray", "/"), ("runs", "/"), ("compare", "/compare")]


def _page(title: str, body: str, status: int = 200, charts: bool = True) -> HTMLResponse:
    return HTMLResponse(page(f"{title} · evalray", body, plotly_src=PLOTLY_SRC if charts else None, nav=_nav()),
                        status_code=status)


def _not_found(what: str = "not found") -> HTMLResponse:
    return _page("not found", _render("message.html", heading="Not found", message=what), 404, charts=False)


class Dashboard:
    """The state of one dashboard: its root and a cache of sample files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.cache = SampleCache()

    # ---- helpers ---------------------------------------------------------------------------------------------------
    def run_dir(self, request: Request, kind: str | None = None) -> Path:
        path = run_files.resolve_inside(self.root, request.path_params.get("run", ""))
        if path is None or not path.is_dir() or run_files.run_kind(path) is None:
            raise HTTPException(404)
        if kind is not None and run_files.run_kind(path) != kind:
            raise HTTPException(404)
        return path

    def rel(self, path: Path) -> str:
        rel = path.relative_to(self.root.resolve()).as_posix()
        return "" if rel == "." else rel

    def result(self, path: Path) -> dict[str, Any]:
        if not (path / run_files.RESULT).is_file():
            raise HTTPException(404)
        try:
            return run_files.load_result(path)
        except EvalrayError:
            raise HTTPException(404) from None

    # ---- runs list -------------------------------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        return [e.to_dict() for e in run_files.discover(self.root)]

    def runs_page(self, request: Request) -> Response:
        body = _render("runs.html", runs=self.entries(), root=str(self.root), query=request.query_params.get("q", ""),
                       refresh_s=REFRESH_S)
        return _page("runs", body, charts=False)

    def runs_fragment(self, request: Request) -> Response:
        return HTMLResponse(_render("runs_rows.html", runs=self.entries(), root=str(self.root)))

    def runs_api(self, request: Request) -> Response:
        return JSONResponse([{k: v for k, v in e.items() if k != "path"} for e in self.entries()])

    # ---- one run ---------------------------------------------------------------------------------------------------
    def progress(self, path: Path) -> dict[str, Any] | None:
        return run_files.live_progress(path)

    def run_page(self, request: Request) -> Response:
        from evalray.results.html_views import run_body

        path = self.run_dir(request)
        if run_files.run_kind(path) == "perf":
            return self.perf_page(request)
        rel = self.rel(path)
        progress = self.progress(path)
        body = ""
        models: list[str] = []
        error_kinds: list[dict[str, Any]] = []
        has_arena = (path / "arena.json").is_file()
        if (path / run_files.RESULT).is_file():
            result = self.result(path)
            has_arena = has_arena or bool(result.get("arena"))
            body = run_body(result, links={"samples": f"/samples/{quote(rel)}"})
            models = list(dict.fromkeys(c["model"] for c in result.get("counts", [])))
            error_kinds = self.error_kinds(path, result)
        elif progress is None:
            raise HTTPException(404)
        compare_href = "/compare?" + urlencode([("s", f"{rel}::{m}") for m in models])
        html = _render("run_page.html", rel=rel, body=body, progress=progress, live=progress is not None,
                       models=models, compare_href=compare_href, error_kinds=error_kinds,
                       arena=has_arena)
        return _page(rel or "run", html)

    def error_kinds(self, path: Path, result: dict[str, Any]) -> list[dict[str, Any]]:
        kinds = []
        for count in result.get("counts", []):
            if not count.get("errors"):
                continue
            file = run_files.sample_file(path, result, count["model"], count["benchmark"])
            if file is None:
                continue
            errors = [e for e in self.cache.get(file, count["benchmark"]).table["error"].to_pylist() if e]
            for message in sorted(set(errors), key=lambda m: (-errors.count(m), m))[:20]:
                kinds.append({"model": count["model"], "benchmark": count["benchmark"], "error": message,
                              "count": errors.count(message)})
        return kinds

    def progress_fragment(self, request: Request) -> Response:
        progress = self.progress(self.run_dir(request))
        return HTMLResponse(_render("progress.html", progress=progress) if progress else "")

    def progress_api(self, request: Request) -> Response:
        return JSONResponse(run_files.load_progress(self.run_dir(request)))

    # ---- samples ---------------------------------------------------------------------------------------------------
    def sample_query(self, request: Request) -> dict[str, Any]:
        path = self.run_dir(request, "eval")
        result = self.result(path)
        params = request.query_params
        pairs = [(c["model"], c["benchmark"]) for c in result.get("counts", [])
                 if run_files.sample_file(path, result, c["model"], c["benchmark"]) is not None]
        if not pairs:
            raise HTTPException(404)
        model, benchmark = params.get("model") or pairs[0][0], params.get("benchmark") or pairs[0][1]
        file = run_files.sample_file(path, result, model, benchmark)
        if file is None:
            raise HTTPException(404)
        data = self.cache.get(file, benchmark)
        status = params.get("status", "all")
        try:
            number, size = int(params.get("page", 1)), int(params.get("size", PAGE_SIZE))
        except ValueError:
            raise HTTPException(400) from None
        subset, text = params.get("subset") or None, params.get("q") or None
        chosen = page_of(data, subset, status, text, number, size)
        return {"path": path, "rel": self.rel(path), "pairs": pairs, "model": model, "benchmark": benchmark,
                "data": data, "status": status if status in STATUSES else "all", "subset": subset or "",
                "q": text or "", "page": chosen}

    def samples_page(self, request: Request) -> Response:
        query = self.sample_query(request)
        chosen = query["page"]
        for row in chosen.rows:
            row["_details"] = sample_details(row)
        params = {"model": query["model"], "benchmark": query["benchmark"], "subset": query["subset"],
                  "status": query["status"], "q": query["q"], "size": chosen.page_size}

        def page_href(number: int) -> str:
            return f"/samples/{quote(query['rel'])}?" + urlencode({**params, "page": number})

        body = _render("samples.html", rel=query["rel"], pairs=query["pairs"], model=query["model"],
                       benchmark=query["benchmark"], subsets=query["data"].subsets, subset=query["subset"],
                       statuses=STATUSES, status=query["status"], q=query["q"], page=chosen, rows=chosen.rows,
                       primary=query["data"].primary, fmt=fmt, page_href=page_href)
        return _page(f"samples {query['model']} {query['benchmark']}", body, charts=False)

    def samples_api(self, request: Request) -> Response:
        query = self.sample_query(request)
        chosen = query["page"]
        return JSONResponse({"model": query["model"], "benchmark": query["benchmark"], "total": chosen.total,
                             "matched": chosen.matched, "page": chosen.page, "pages": chosen.pages,
                             "page_size": chosen.page_size, "counts": chosen.counts, "primary": query["data"].primary,
                             "rows": json.loads(json.dumps(chosen.rows, default=str))})

    # ---- compare ---------------------------------------------------------------------------------------------------
    def compare_options(self) -> list[tuple[str, str]]:
        options = []
        for entry in run_files.discover(self.root):
            if entry.kind == "eval" and (entry.path / run_files.RESULT).is_file():
                rel = "" if entry.rel == "." else entry.rel
                options += [(f"{rel}::{m}", f"{entry.name} · {m} ({entry.rel})") for m in entry.models]
        return options

    def compare_page(self, request: Request) -> Response:
        from evalray.dashboard.comparison import build_comparison
        from evalray.dashboard.compare_view import compare_body

        chosen = request.query_params.getlist("s")
        picked = []
        for text in chosen:
            rel, model = run_files.split_selection(text)
            path = run_files.resolve_inside(self.root, rel)
            if path is None or not (path / run_files.RESULT).is_file():
                raise HTTPException(404)
            picked.append((path, self.rel(path) or ".", model))
        message = None
        if len(picked) >= 1:
            try:
                comparison = build_comparison(run_files.selections(picked))
                return _page("compare", compare_body(comparison))
            except EvalrayError as exc:
                message = str(exc)
        body = _render("pick.html", options=self.compare_options(), chosen=chosen, message=message)
        return _page("compare", body)

    # ---- perf and arena --------------------------------------------------------------------------------------------
    def perf_page(self, request: Request) -> Response:
        from evalray.loadgen.report_html import perf_body

        path = self.run_dir(request, "perf")
        try:
            document, table = run_files.load_perf(path), run_files.load_records(path)
        except EvalrayError as exc:
            return _page("perf", _render("message.html", heading="Unreadable perf run", message=str(exc)))
        rel = self.rel(path)
        links = (f'<p class="meta"><a href="/">runs</a> / {rel} · '
                 f'<a href="/files/{quote(rel)}/report.html">report.html</a></p>')
        return _page(rel or "perf", links + perf_body(document, table))

    def arena_page(self, request: Request) -> Response:
        from evalray.dashboard.compare_view import arena_view

        path = self.run_dir(request, "eval")
        blocks = []
        if (path / run_files.RESULT).is_file():
            blocks = self.result(path).get("arena") or []
        if not blocks and (path / "arena.json").is_file():
            try:
                loaded = json.loads((path / "arena.json").read_text(encoding="utf-8"))
                blocks = loaded if isinstance(loaded, list) else [loaded]
            except (OSError, json.JSONDecodeError):
                blocks = []
        views = [arena_view(block, index) for index, block in enumerate(blocks) if isinstance(block, dict)]
        return _page("arena", _render("arena.html", rel=self.rel(path), blocks=views))

    # ---- files -----------------------------------------------------------------------------------------------------
    def file(self, request: Request) -> Response:
        path = run_files.resolve_inside(self.root, request.path_params.get("path", ""))
        if path is None or not path.is_file() or path.suffix not in SERVED_SUFFIXES:
            raise HTTPException(404)
        return FileResponse(path)

    def plotly_js(self, request: Request) -> Response:
        import plotly

        return FileResponse(Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
                            media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})


async def _http_error(request: Request, exc: Exception) -> Response:
    code = getattr(exc, "status_code", 500)
    if code == 404:
        return _not_found(f"nothing at {request.url.path}")
    return _page("error", _render("message.html", heading=f"Error {code}", message=str(getattr(exc, "detail", exc))), code)


def _compile_templates() -> None:
    """Import Jinja and compile every template now, not during the first request."""
    from evalray.results.html_templates import TEMPLATES as SHARED, environment

    for name in SHARED:
        environment().get_template(name)
    for name in (*SHARED, *(name for name, _ in TEMPLATES)):
        environment(TEMPLATES).get_template(name)


def _warm_charts() -> None:
    """plotly loads a trace type's validators on first use: draw each kind the pages use once, at start-up."""
    import plotly.graph_objects as go

    from evalray.results.html_views import figure_div

    figure = go.Figure()
    figure.add_bar(x=["a"], y=[1.0], error_y={"type": "data", "array": [0.1]}, orientation="v")
    figure.add_trace(go.Scatter(x=[1], y=[1], mode="lines"))
    figure.add_trace(go.Scattergl(x=[1], y=[1], mode="markers"))
    figure.update_layout(title="warm-up", barmode="group", legend={"orientation": "h"})
    figure_div(figure, "warm-up")


def create_app(root: Path) -> Starlette:
    """The dashboard over the runs under ``root``."""
    board = Dashboard(root)
    routes = [
        Route("/", board.runs_page), Route("/fragment/runs", board.runs_fragment), Route("/api/runs", board.runs_api),
        Route("/run/{run:path}", board.run_page), Route("/fragment/progress/{run:path}", board.progress_fragment),
        Route("/api/progress/{run:path}", board.progress_api), Route("/samples/{run:path}", board.samples_page),
        Route("/api/samples/{run:path}", board.samples_api), Route("/compare", board.compare_page),
        Route("/perf/{run:path}", board.perf_page), Route("/arena/{run:path}", board.arena_page),
        Route("/files/{path:path}", board.file), Route(PLOTLY_SRC, board.plotly_js),
    ]
    _compile_templates()
    warm_up()
    _warm_charts()
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.dashboard = board
    return app
