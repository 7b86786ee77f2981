"""Checks of a job's judges against its benchmarks, each failing with the key path it is about
(``benchmarks.0.judges: unknown judge 'gpt4'; the job's judges are: a, b``)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from evalray.errors import did_you_mean

JUDGED_BENCHMARKS = ("mt_bench", "arena_hard", "alpaca_eval")


def fail(loc: tuple[Any, ...], message: str, value: Any) -> None:
    """Raise a validation error at ``loc`` (the loader prints it as ``key.path: message``)."""
    error = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)
    raise ValidationError.from_exception_data("JobSpec", [error])


def check_judging(job: Any) -> None:
    judges = [j.name for j in job.judges]
    models = [m.name for m in job.models]
    for i, entry in enumerate(job.benchmarks):
        for name in entry.judges or []:
            if name not in judges:
                known = f"the job's judges are: {', '.join(judges)}" if judges else "the job has no judges: add `judges:`"
                fail(("benchmarks", i, "judges"), f"unknown judge '{name}'{did_you_mean(name, judges)}; {known}", name)
        arena = entry.arena
        judged = entry.name in JUDGED_BENCHMARKS or (entry.judge is not None and entry.judge.strategy != "rule")
        if arena is not None and arena.baseline is not None and arena.baseline not in models:
            fail(("benchmarks", i, "arena", "baseline"),
                 f"unknown model '{arena.baseline}'{did_you_mean(arena.baseline, models)}; the baseline must be one "
                 f"of the job's models: {', '.join(models)}", arena.baseline)
        if arena is not None and arena.anchor.model is not None and arena.anchor.model not in models:
            fail(("benchmarks", i, "arena", "anchor", "model"),
                 f"unknown model '{arena.anchor.model}'; the anchor must be one of the job's models", arena.anchor.model)
        if judged and not judges:
            fail(("benchmarks", i, "name"), f"benchmark {entry.name} needs a judge: add a `judges:` list to the job",
                 entry.name)
        if arena is not None and not judged:
            fail(("benchmarks", i, "arena"), f"benchmark {entry.name} is not judged: `arena` applies to "
                 f"{', '.join(JUDGED_BENCHMARKS)} and to benchmarks with `judge: {{strategy: llm | auto}}`", entry.name)
        mode = arena.mode if arena is not None else None
        if mode in ("pairwise_baseline", "pairwise_all") and len(models) < 2:
            fail(("benchmarks", i, "arena", "mode"), f"{mode} needs at least two models", mode)
