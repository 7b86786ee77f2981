"""``evalray run`` of a ``kind: opencompass`` job (OpenCompass itself against each model's endpoint)."""

from __future__ import annotations

from typing import Optional


def run_opencompass(job, address: Optional[str], output: Optional[str], quiet: bool, allow_partial: bool) -> None:
    """Run the job; the exit code from its status (1 failed, 3 partial unless ``allow_partial``)."""
    from evalray.cli.outcome import report_outcome
    from evalray.pipeline.opencompass_runner import run_opencompass_job
    from evalray.runtime import filtered_stderr

    with filtered_stderr():
        outcome = run_opencompass_job(job, address=address, output=output)
    report_outcome(outcome, quiet, allow_partial, str(outcome.result.get("error")))
