"""``evalray eval``: a one-line evaluation, no job file (the job is built in :mod:`evalray.job.quick`)."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
    model: str = typer.Option(..., "--model", "-m", help="Model source: checkpoint dir, hub id, builtin:tiny-llama, "
                              "or the base URL of an OpenAI-compatible server (--backend openai)."),
    benchmarks: str = typer.Option(..., "--benchmarks", "-b", help="Comma-separated benchmarks: gsm8k,mmlu."),
    backend: str = typer.Option("hf", "--backend", help="hf | openai | vllm | serve."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", help="The first N samples of each subset."),
    chat: bool = typer.Option(False, "--chat", help="A chat model (chat template / chat API)."),
    replicas: int = typer.Option(1, "--replicas", help="Model actors (engine replicas)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Result directory (default runs/<model>)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="A folder of <benchmark>/ local copies (e.g. "
                                           "../shared/data); default: the hub datasets."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a job key: "
                                             "-S models.0.generation.max_tokens=64."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray address: 'auto' for a running cluster."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the job as YAML (a file `evalray validate` and "
                                 "`evalray run` accept) and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Exit 0 when some samples errored."),
) -> None:
    """Evaluate a model on benchmarks without a job file; the job goes through the same checks as `evalray run`'s.

    Exit codes as `evalray run`: 0 completed, 1 failed, 2 bad options, 3 partial, 130/143 interrupted."""
    from evalray.job.quick import QuickEval, quick_job

    options = QuickEval(model=model, benchmarks=benchmarks.split(","), backend=backend, limit=limit, chat=chat,
                        replicas=replicas, output=output, data_dir=data_dir, overrides=list(set_ or []))
    job, data = quick_job(options)
    if dry_run:
        import yaml

        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
        return
    from evalray.cli.eval_commands import run_eval

    run_eval(job, address, None, quiet, allow_partial)
