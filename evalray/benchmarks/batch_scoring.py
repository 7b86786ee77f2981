"""Scoring one Arrow batch of generated rows: each row by its benchmark's scorer, the score columns added and
``error`` updated. Run by the scoring tasks (:func:`evalray.pipeline.stages.score_stage`) or, for backends whose
actors only wait on an endpoint, in the model actor right after generation (``scoring.in_model_actors``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from pydantic import TypeAdapter

from evalray import rows
from evalray.job.spec import BenchmarkSpec

_ENTRIES: TypeAdapter = TypeAdapter(list[BenchmarkSpec])
_BENCHMARKS: dict[str, Any] = {}


def declared_entries_json(entries: Sequence[BenchmarkSpec]) -> str:
    """The JSON that :func:`score_batch` gets: the job's entries that declare their own data (``type:``,
    ``collection:``); built-in benchmarks are found by name alone."""
    return _ENTRIES.dump_json([e for e in entries if e.type is not None or e.collection is not None]).decode()


@lru_cache(maxsize=8)
def _declared(entries_json: str) -> dict[str, Any]:
    from evalray.benchmarks import registry

    return {e.name: registry.for_entry(e) for e in _ENTRIES.validate_json(entries_json)}


def score_batch(table, entries: str = "[]"):
    """Score each row with its benchmark's scorer; add the score columns and update ``error``. ``entries``: see
    :func:`declared_entries_json`."""
    from evalray.benchmarks import registry

    declared = _declared(entries)
    scored: list[dict[str, Any]] = []
    for row in table.to_pylist():
        name = row["benchmark"]
        benchmark = declared.get(name) or _BENCHMARKS.get(name) or _BENCHMARKS.setdefault(name, registry.get(name))
        generation = rows.decode_generation(row)
        error, score = generation.error, None
        if not error:
            try:
                score = benchmark.score(rows.decode_sample(row), generation, row["mode"])
            except Exception as exc:  # a scorer bug on one sample is recorded, not fatal
                if getattr(exc, "fatal", False):  # e.g. the sandbox cannot give the isolation required: stop the run
                    raise
                error = f"scoring failed: {type(exc).__name__}: {exc}"[:500]
        scored.append({**rows.encode_score(score, generation.text), "error": error})
    return rows.append_scores(table, scored)
