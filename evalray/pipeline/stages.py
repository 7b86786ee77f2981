"""Ray Data stages of an evaluation: request rows -> generate (each model's own stage) -> score.

Rows follow :mod:`evalray.rows` and carry the sample's ``uid``; no stage depends on row order. Every model's stage
comes from its backend plugin (:mod:`evalray.models.registry`); the datasets of all models are unioned into one
execution, so several models (each with its own pool and resources) run at once. Scoring
(:mod:`evalray.benchmarks.batch_scoring`) runs in tasks after each model's stage, or inside the model's actors for
client backends (``scoring.in_model_actors``).
"""

from __future__ import annotations

from typing import Any, Sequence

from evalray import rows
from evalray.benchmarks.batch_scoring import declared_entries_json, score_batch
from evalray.job.spec import JobSpec, ModelSpecBase, ScoringSpec
from evalray.models.registry import plugin_for

MAX_BLOCKS = 200


def request_dataset(request_rows: Sequence[dict[str, Any]], model: ModelSpecBase):
    """The model's request rows as typed Arrow blocks (at least two per replica, so the pool balances)."""
    import ray

    table = rows.table_from_rows(request_rows)
    blocks = max(2 * model.replicas, min(MAX_BLOCKS, len(request_rows) // max(1, model.batch_size * 2)))
    blocks = max(1, min(blocks, len(request_rows)))
    step = -(-len(request_rows) // blocks)
    return ray.data.from_arrow([table.slice(start, step) for start in range(0, len(request_rows), step)])


def evaluation_dataset(job: JobSpec, models: Sequence[ModelSpecBase], rows_by_model: dict[str, list[dict[str, Any]]]):
    """Every model's generate stage, each followed by the scoring tasks unless its actors score their own batches
    (:func:`scores_in_actor`), unioned into one execution."""
    entries = declared_entries_json(job.benchmarks)
    datasets = []
    for model in models:
        if not rows_by_model[model.name]:
            continue
        requests, inline = request_dataset(rows_by_model[model.name], model), scores_in_actor(job, model)
        generated = plugin_for(model).build_stage(requests, model, score_entries=entries if inline else None)
        datasets.append(generated if inline else score_stage(generated, job.scoring, entries))
    return datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]


def score_stage(ds, scoring: ScoringSpec, entries_json: str):
    """Scoring tasks of ``scoring.num_cpus`` each, ``scoring.batch_size`` rows per call; ``entries_json`` from
    :func:`~evalray.benchmarks.batch_scoring.declared_entries_json`."""
    return ds.map_batches(score_batch, batch_format="pyarrow", batch_size=scoring.batch_size,
                          num_cpus=scoring.num_cpus, fn_kwargs={"entries": entries_json})


def scores_in_actor(job: JobSpec, model: ModelSpecBase) -> bool:
    """Whether ``model``'s actors score their own batches (``scoring.in_model_actors``; see its description)."""
    choice = job.scoring.in_model_actors
    if choice is False or plugin_for(model).capabilities.hosts_weights:
        return False
    if choice is True:
        return True
    from evalray.benchmarks import registry

    return not any(registry.for_entry(entry).runs_code for entry in job.benchmarks)
