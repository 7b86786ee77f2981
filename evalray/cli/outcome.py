"""How every ``evalray run`` ends, whatever the job kind: the table, where the results are, the exit code."""

from __future__ import annotations

from typing import Optional

import typer


def report_outcome(outcome, quiet: bool, allow_partial: bool, partial_reason: str,
                   shown: Optional[list] = None) -> None:
    """The end of every ``evalray run``: the table (``shown`` score rows, default all), where the results are, and
    the exit code from the status (1 failed; 3 partial, with ``partial_reason``, unless ``allow_partial``)."""
    from evalray.errors import EvalrayError, PartialRun
    from evalray.results.report import console_table

    if not quiet:
        console_table(outcome.result if shown is None else {**outcome.result, "scores": shown})
    typer.echo(f"results: {outcome.output}")
    status = outcome.result["status"]
    if status == "failed":
        raise EvalrayError(f"run failed: {outcome.result.get('error')} (partial results in {outcome.output})")
    if status == "partial" and not allow_partial:
        raise PartialRun(f"run partial: {partial_reason} (--allow-partial to exit 0)")
