"""``evalray export``: finished runs (perf.json, result.json) as flat CSV / JSONL rows, optionally logged to W&B or
MLflow (:mod:`evalray.results.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from evalray.errors import ConfigError


def export(
    runs: list[str] = typer.Argument(..., metavar="RUN_DIR", help="Run directories (or their perf.json / result.json)."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv or jsonl."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write to this file (default: stdout)."),
    to: Optional[str] = typer.Option(None, "--to", help="Also log to wandb or mlflow (the package must be "
                                     "installed); without -o the rows are then not printed."),
    project: Optional[str] = typer.Option(None, "--project", help="W&B project / MLflow experiment (default: the "
                                          "job's name)."),
    run_name: Optional[str] = typer.Option(None, "--run-name", help="Tracker run name (default: the run id)."),
) -> None:
    """One row per perf run point (load, req/s, TTFT/TPOT/ITL/E2E p50/p90/p99, goodput, errors, accuracy) and per
    eval (model, benchmark, metric)."""
    from evalray.results.export import render, rows_of

    if to:
        from evalray.results.export_trackers import require_tracker

        require_tracker(to)
    text = render(rows := rows_of(runs), fmt)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"export -o {output}: cannot write ({exc.strerror})") from None
        typer.echo(f"wrote {len(rows)} rows to {output}", err=True)
    elif not to:
        typer.echo(text, nl=False)
    if to:
        from evalray.results.export_trackers import log_rows

        typer.echo(log_rows(to, rows, project, run_name), err=True)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
