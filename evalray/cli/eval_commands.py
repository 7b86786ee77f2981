"""``evalray run``, ``evalray validate`` and ``evalray benchmarks``."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("validate")(validate)
    benchmarks_app = typer.Typer(help="List the built-in benchmarks, or show one.", invoke_without_command=True,
                                 no_args_is_help=False)
    benchmarks_app.callback(invoke_without_command=True)(list_benchmarks)
    benchmarks_app.command("show")(show_benchmark)
    app.add_typer(benchmarks_app, name="benchmarks")


def run(
    job_file: str = typer.Argument(..., help="Job YAML file."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a key: -S models.0.replicas=4."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray address: 'auto' for a running cluster."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Result directory (overrides the job's)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    resume: bool = typer.Option(
        False, "--resume",
        help="Continue the unfinished run in the output directory (the job's, or --output RUN_DIR); a different job "
        "is refused. Without it, an unfinished run of the same job there is continued anyway."),
    fresh: bool = typer.Option(False, "--fresh", help="Never continue an earlier run: start from scratch."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 when some samples errored (status "
                                       "partial); default exit code 3."),
) -> None:
    """Run a job file: evaluation (kind: eval, the default), load test (kind: perf), embedding / reranker / RAG
    evaluation (kind: embed) or OpenCompass itself (kind: opencompass).

    Exit codes: 0 completed, 1 failed, 2 bad job file or usage, 3 partial (some samples errored or missing), 130
    interrupted (Ctrl-C), 143 terminated (SIGTERM). Results collected before a failure or signal are written."""
    from evalray.errors import ConfigError
    from evalray.job.loader import load_job

    job = load_job(job_file, set_ or [])
    if getattr(job, "kind", "eval") == "perf":
        from evalray.loadgen.runner import run_perf_job

        if output:
            job.output = output
        location = run_perf_job(job, address)
        typer.echo(f"results: {location}")
        return
    if resume and fresh:
        raise ConfigError("--resume and --fresh exclude each other")
    if job.kind == "embed":
        run_embed(job, address, output, quiet, allow_partial)
        return
    if job.kind == "opencompass":
        from evalray.cli.opencompass_commands import run_opencompass

        run_opencompass(job, address, output, quiet, allow_partial)
        return
    run_eval(job, address, output, quiet, allow_partial, resume=True if resume else (False if fresh else None))


def run_eval(job, address: Optional[str], output: Optional[str], quiet: bool, allow_partial: bool,
             resume: Optional[bool] = None) -> None:
    """Run an eval job: progress, table, the exit code from the run's status (``evalray run`` and ``evalray eval``)."""
    import signal

    from evalray.errors import StoppedRun, Terminated
    from evalray.pipeline.runner import run_job
    from evalray.runtime import filtered_stderr

    terminated: list[int] = []

    def terminate(signum, frame):
        terminated.append(signum)
        raise Terminated()

    signal.signal(signal.SIGTERM, terminate)
    try:
        with filtered_stderr():
            outcome = run_job(job, address=address, output=output, progress=not quiet, resume=resume)
    except KeyboardInterrupt:  # results collected so far are written by now
        signal_name, code = ("SIGTERM", 143) if terminated else ("Ctrl-C", 130)
        raise StoppedRun(f"stopped by {signal_name}; partial results in {output or job.output} "
                         "(run again to continue)", code) from None
    counts = outcome.result["counts"]
    errors = sum(c["errors"] for c in counts)
    missing = sum(max(0, c["expected"] - c["samples"]) for c in counts)
    from evalray.cli.outcome import report_outcome

    report_outcome(outcome, quiet, allow_partial, f"{errors} samples errored, {missing} missing")


def run_embed(job, address: Optional[str], output: Optional[str], quiet: bool, allow_partial: bool) -> None:
    """A ``kind: embed`` job (embedding models and rerankers)."""
    from evalray.cli.outcome import report_outcome
    from evalray.pipeline.embedding_runner import run_embed_job
    from evalray.runtime import filtered_stderr

    with filtered_stderr():
        outcome = run_embed_job(job, address=address, output=output)
    # the console shows the cut-offs people quote (@10, @100); result.json has them all
    shown = [r for r in outcome.result["scores"] if "_at_" not in r["metric"] or r["metric"].endswith(("_at_10",
                                                                                                     "_at_100"))]
    errors = sum(c["errors"] for c in outcome.result["counts"])
    report_outcome(outcome, quiet, allow_partial, f"{errors} samples with a failed metric or call", shown)


def validate(
    job_file: str = typer.Argument(..., help="Job YAML file."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a key: -S models.0.replicas=4."),
) -> None:
    """Check a job file without running it; print the resolved job."""
    import yaml

    from evalray.job.loader import load_job, public_job_dict

    job = load_job(job_file, set_ or [])
    typer.echo(yaml.safe_dump(public_job_dict(job), sort_keys=False).rstrip())
    typer.echo(f"ok: {job_file} is a valid {job.kind} job")


def list_benchmarks(ctx: typer.Context) -> None:
    """Name, items, metrics and default source of every built-in benchmark."""
    if ctx.invoked_subcommand:
        return
    from rich.console import Console
    from rich.table import Table

    from evalray.benchmarks import registry

    from evalray.benchmarks import embedding_tasks

    table = Table(title="evalray benchmarks")
    for column in ("name", "kind", "items", "metrics", "default source"):
        table.add_column(column)
    for name in registry.names():
        info = registry.get(name).info()
        table.add_row(name, "eval", str(info["items"] or "-"), ", ".join(info["metrics"]), info["source"])
    for name in embedding_tasks.TASK_KINDS:
        info = embedding_tasks.info(name)
        table.add_row(name, info["kind"], str(info["items"] or "-"), ", ".join(info["metrics"]), info["source"])
    Console().print(table)


def show_benchmark(name: str = typer.Argument(..., help="Benchmark name.")) -> None:
    """Description, items, subsets, metrics, default source and license of one benchmark."""
    from evalray.benchmarks import embedding_tasks, registry

    info = embedding_tasks.info(name) if name in embedding_tasks.TASK_KINDS else registry.get(name).info()
    for key, value in info.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) if value else "-"
        typer.echo(f"{key:>12}: {value if value not in (None, '') else '-'}")
