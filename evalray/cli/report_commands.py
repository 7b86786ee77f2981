"""``evalray report`` (regenerate reports from run files), ``evalray compare`` (runs or models, with paired
statistics) and ``evalray dashboard`` (a local read-only web app over a directory of runs)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from evalray.errors import ConfigError, EvalrayError

FORMATS = ("html", "md")


def _formats(value: Optional[str]) -> tuple[str, ...]:
    if value is None:
        return FORMATS
    if value not in FORMATS:
        raise ConfigError(f"--format {value}: expected html or md")
    return (value,)


def write_run_reports(run_dir: Path, out: Path, formats: tuple[str, ...]) -> list[Path]:
    """Regenerate the reports of one run (eval or perf) into ``out``; return the files written."""
    from evalray.dashboard import runs

    kind = runs.run_kind(run_dir)
    written = []
    out.mkdir(parents=True, exist_ok=True)
    if kind == "eval" and (run_dir / runs.RESULT).is_file():
        from evalray.results.report import html_report, markdown_report

        result = runs.load_result(run_dir)
        texts = {"html": lambda: html_report(result), "md": lambda: markdown_report(result)}
    elif kind == "perf":
        from evalray.loadgen.report_html import perf_html, perf_markdown

        document, table = runs.load_perf(run_dir), runs.load_records(run_dir)
        texts = {"html": lambda: perf_html(document, table), "md": lambda: perf_markdown(document)}
    else:
        raise EvalrayError(f"{run_dir}: not a run directory (no result.json or perf.json)")
    for fmt in formats:
        path = out / f"report.{fmt}"
        path.write_text(texts[fmt](), encoding="utf-8")
        written.append(path)
    return written


def _selections(run_args: list[str], models: Optional[str]):
    from evalray.dashboard.runs import selections, split_selection

    picked = []
    for text in run_args:
        run, model = split_selection(text)
        path = Path(run).expanduser()
        if not path.is_dir():
            raise EvalrayError(f"{run}: no such run directory")
        picked.append((path, run.rstrip("/"), model))
    names = [p.resolve().name for p, _, _ in picked]
    distinct_dirs = {p.resolve() for p, _, _ in picked}
    if len(set(names)) == len(distinct_dirs):  # short labels: the run folders' names, when they tell runs apart
        picked = [(p, p.resolve().name, m) for p, _, m in picked]
    return selections(picked, [m for m in models.split(",") if m] if models else None)


def report(
    run_dirs: List[str] = typer.Argument(..., help="Run directories (result.json or perf.json)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here instead of into each run "
                                         "(several runs: OUT/<run>/ and OUT/comparison.*)."),
    format_: Optional[str] = typer.Option(None, "--format", help="html or md (default: both)."),
) -> None:
    """Regenerate the reports of runs from their files; with several eval runs, also a comparison report of them."""
    formats = _formats(format_)
    paths = [Path(r).expanduser() for r in run_dirs]
    for path in paths:
        if not path.is_dir():
            raise EvalrayError(f"{path}: no such run directory")
    out = Path(output).expanduser() if output else None
    for index, path in enumerate(paths):
        target = path if out is None else (out if len(paths) == 1 else out / f"{index + 1:02d}-{path.resolve().name}")
        for written in write_run_reports(path, target, formats):
            typer.echo(f"wrote {written}")
    from evalray.dashboard.runs import RESULT

    evals = [r for r, p in zip(run_dirs, paths) if (p / RESULT).is_file()]
    if len(paths) > 1 and len(evals) > 1:
        from evalray.dashboard.comparison import build_comparison
        from evalray.dashboard.compare_view import comparison_html, comparison_markdown

        comparison = build_comparison(_selections(evals, None))
        where = out or Path("comparison")
        where.mkdir(parents=True, exist_ok=True)
        texts = {"html": lambda: comparison_html(comparison), "md": lambda: comparison_markdown(comparison)}
        for fmt in formats:
            path = where / f"comparison.{fmt}"
            path.write_text(texts[fmt](), encoding="utf-8")
            typer.echo(f"wrote {path}")


def _number(value, digits: int = 6) -> str:
    return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def _p(value) -> str:
    return "-" if value is None else f"{value:.6g}"


def print_comparison(comparison, show_subsets: bool, max_ids: Optional[int]) -> None:
    labels = [s.label for s in comparison.selections]
    for pair in comparison.pairs:
        typer.echo(f"== {labels[pair.other]} vs {labels[pair.base]} (difference = {labels[pair.other]} - "
                   f"{labels[pair.base]}; 95% intervals)")
        for result in pair.benchmarks:
            rows = [r for r in result.rows if show_subsets or r["subset"] is None]
            for r in rows:
                paired = f"n={r['n']}" if r["paired"] else f"unpaired n={r['n_a']}/{r['n_b']}"
                typer.echo(
                    f"{result.benchmark}  subset={r['subset'] if r['subset'] is not None else '(all)'}  "
                    f"metric={r['metric']}  {labels[pair.base]}={_number(r['mean_a'])}  "
                    f"{labels[pair.other]}={_number(r['mean_b'])}  diff={_number(r['diff'])}  "
                    f"ci=[{_number(r['ci_low'])}, {_number(r['ci_high'])}]  "
                    f"bootstrap_ci=[{_number(r['boot_low'])}, {_number(r['boot_high'])}]  {paired}  "
                    f"b={_number(r['b'])}  c={_number(r['c'])}  mcnemar_p={_p(r['mcnemar_p'])}  "
                    f"mid_p={_p(r['mcnemar_mid_p'])}  bootstrap_p={_p(r['boot_p'])}")
            for kind, title in (("right_to_wrong", "right->wrong"), ("wrong_to_right", "wrong->right")):
                ids = getattr(result, kind)
                shown = ids if max_ids is None else ids[:max_ids]
                more = f" ... (+{len(ids) - len(shown)})" if len(shown) < len(ids) else ""
                typer.echo(f"{result.benchmark}  {title} ({len(ids)}): {', '.join(shown) or '-'}{more}")


def compare(
    runs: List[str] = typer.Argument(..., help="Run directories (RUN or RUN::MODEL); one run: compare its models."),
    models: Optional[str] = typer.Option(None, "--models", "-m", help="Only these models, e.g. base,tuned."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Also write an HTML (or .md) comparison."),
    subsets: bool = typer.Option(True, "--subsets/--no-subsets", help="Rows per subset as well."),
    max_ids: Optional[int] = typer.Option(None, "--max-ids", help="List at most this many flipped ids per kind."),
) -> None:
    """Score differences with 95% intervals, McNemar and paired-bootstrap significance, and the flipped items."""
    from evalray.dashboard.comparison import build_comparison

    comparison = build_comparison(_selections(runs, models), subsets=subsets)
    print_comparison(comparison, subsets, max_ids)
    if output:
        from evalray.dashboard.compare_view import comparison_html, comparison_markdown

        path = Path(output).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = comparison_markdown(comparison) if path.suffix == ".md" else comparison_html(comparison)
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")


def dashboard(
    runs_dir: str = typer.Option("runs", "--runs", help="Directory of runs (default: ./runs)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback unless --allow-remote)."),
    port: int = typer.Option(8600, "--port", help="Port."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow a non-loopback --host (read-only, "
                                      "no authentication: anyone who can reach it sees the runs)."),
) -> None:
    """A local, read-only web app over a directory of runs: runs, scores, samples, comparisons, perf charts."""
    from evalray.dashboard.server import serve

    serve(Path(runs_dir).expanduser(), host, port, allow_remote)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("compare")(compare)
    app.command("dashboard")(dashboard)
