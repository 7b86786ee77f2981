"""Ray Data stages of an evaluation: request rows -> generate (each model's own stage) -> score.

Rows follow :mod:`evalray.rows` and carry the sample's ``uid``; no stage depends on row order. Every model's stage
comes from its backend plugin (:mod:`evalray.models.registry`); the datasets of all models are unioned into one
execution, so several models (each with its own pool and resources) run at once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

from pydantic import TypeAdapter

from evalray import rows
from evalray.job.spec import BenchmarkSpec, JobSpec, ModelSpecBase, ScoringSpec
from evalray.models.registry import plugin_for

MAX_BLOCKS = 200
_ENTRIES: TypeAdapter = TypeAdapter(list[BenchmarkSpec])


def request_dataset(request_rows: Sequence[dict[str, Any]], model: ModelSpecBase):
    """The model's request rows as typed Arrow blocks (at least two per replica, so the pool balances)."""
    import ray

    table = rows.table_from_rows(request_rows)
    blocks = max(2 * model.replicas, min(MAX_BLOCKS, len(request_rows) // max(1, model.batch_size * 2)))
    blocks = max(1, min(blocks, len(request_rows)))
    step = -(-len(request_rows) // blocks)
    return ray.data.from_arrow([table.slice(start, step) for start in range(0, len(request_rows), step)])


def evaluation_dataset(job: JobSpec, models: Sequence[ModelSpecBase], rows_by_model: dict[str, list[dict[str, Any]]]):
    """Generate stages of every model (unioned), then the scoring stage."""
    datasets = [plugin_for(model).build_stage(request_dataset(rows_by_model[model.name], model), model)
                for model in models if rows_by_model[model.name]]
    dataset = datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]
    return score_stage(dataset, job.scoring, job.benchmarks)


_BENCHMARKS: dict[str, Any] = {}


@lru_cache(maxsize=8)
def _declared(entries_json: str) -> dict[str, Any]:
    """The job's own datasets and collections by name (built-in benchmarks are found by name alone)."""
    from evalray.benchmarks import registry

    return {e.name: registry.for_entry(e) for e in _ENTRIES.validate_json(entries_json)}


def score_batch(table, entries: str = "[]"):
    """Score each row with its benchmark's scorer; add the score columns and update ``error``. ``entries``: the
    JSON of the job's benchmark entries that are declared in the job (``type:``, ``collection:``)."""
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


def score_stage(ds, scoring: ScoringSpec, entries: Sequence[BenchmarkSpec] = ()):
    declared = [e for e in entries if e.type is not None or e.collection is not None]
    return ds.map_batches(score_batch, batch_format="pyarrow", batch_size=scoring.batch_size,
                          num_cpus=scoring.num_cpus,
                          fn_kwargs={"entries": _ENTRIES.dump_json(declared).decode()})
