"""``evalray run`` of a ``kind: opencompass`` job (OpenCompass itself against each model's endpoint)."""

from __future__ import annotations

from typing import Optional

import typer


def run_opencompass(job, address: Optional[str], output: Optional[str], quiet: bool, allow_partial: bool) -> None:
    """Run the job; the exit code from its status (1 failed, 3 partial unless ``allow_partial``)."""
    from evalray.errors import EvalrayError, PartialRun
    from evalray.pipeline.opencompass_runner import run_opencompass_job
    from evalray.results.report import console_table
    from evalray.runtime import filtered_stderr

    with filtered_stderr():
        outcome = run_opencompass_job(job, address=address, output=output)
    if not quiet:
        console_table(outcome.result)
    typer.echo(f"results: {outcome.output}")
    status = outcome.result["status"]
    if status == "failed":
        raise EvalrayError(f"run failed: {outcome.result.get('error')} (partial results in {outcome.output})")
    if status == "partial" and not allow_partial:
        raise PartialRun(f"run partial: {outcome.result.get('error')} (--allow-partial to exit 0)")
