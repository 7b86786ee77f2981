"""Ray Data stages: request rows -> generate (an actor pool per model) -> score.

Rows are plain dicts keyed by the sample's ``uid``; no stage depends on row order.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from evalray.job.spec import BenchmarkSpec, JobSpec, ModelSpec, ScoringSpec
from evalray.models.base import (
    answer_requests,
    generation_columns,
    generation_from_row,
    request_from_row,
    request_to_columns,
)
from evalray.types import sample_from_row, sample_to_row



def request_rows(job: JobSpec, model: ModelSpec) -> list[dict[str, Any]]:
    """Every request of one model over all benchmarks of the job."""
    from evalray.benchmarks import registry

    rows: list[dict[str, Any]] = []
    for entry in job.benchmarks:
        benchmark = registry.get(entry.name)
        force_generate = model.backend == "replay"
        for sample, request, mode in benchmark.requests(entry, model.chat, job.seed, force_generate):
            row = sample_to_row(sample)
            row.update(request_to_columns(request))
            row.update(model=model.name, mode=mode)
            rows.append(row)
    return rows


class GenerateStage:
    """One model replica: a Ray Data actor that answers batches of request rows."""

    def __init__(self, spec_json: str, secrets: dict[str, str] | None = None) -> None:
        import os

        import ray

        from evalray.models.registry import backend_class

        os.environ.update(secrets or {})  # API keys live in this process's memory only
        spec = ModelSpec.model_validate_json(spec_json)
        if spec.backend in ("hf", "vllm"):
            _quiet_libraries()  # imports transformers: only where the backend uses it
        self.backend = backend_class(spec.backend)(spec)
        context = ray.get_runtime_context()
        self.actor_id = context.get_actor_id() or f"task-{context.get_task_id()}"
        self.node_id = context.get_node_id()

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        rows = batch.to_dict("records")
        generations = answer_requests(self.backend, [request_from_row(row) for row in rows])
        columns = [generation_columns(g, self.actor_id, self.node_id) for g in generations]
        for name in columns[0] if columns else []:
            batch[name] = [c[name] for c in columns]
        return batch


def generate_stage(ds, model: ModelSpec):
    """The model's generate stage: the backend's own ``build_stage`` where it has one, else an actor pool of
    ``replicas`` :class:`GenerateStage` actors with the model's resources."""
    import ray

    from evalray.models.registry import backend_module

    module = backend_module(model.backend)
    if hasattr(module, "build_stage"):
        return module.build_stage(ds, model)
    resources = model.resources
    return ds.map_batches(
        GenerateStage,
        fn_constructor_args=(model.model_dump_json(), driver_secrets(model)),
        compute=ray.data.ActorPoolStrategy(size=model.replicas),
        num_cpus=resources.num_cpus,
        num_gpus=resources.num_gpus or None,
        batch_size=model.batch_size,
        batch_format="pandas",
        memory=int(resources.memory_gb * 1024**3) if resources.memory_gb else None,
        accelerator_type=resources.accelerator_type,
    )


def driver_secrets(model: ModelSpec) -> dict[str, str]:
    """The API key named by ``api_key_env``, read on the driver and handed to the model actors in memory (workers on
    other nodes do not share the driver's environment); it is never written to results or logs."""
    import os

    if model.api_key_env and model.api_key_env in os.environ:
        return {model.api_key_env: os.environ[model.api_key_env]}
    return {}


_BENCHMARKS: dict[str, Any] = {}


def score_batch(batch: pd.DataFrame) -> pd.DataFrame:
    """Score each row with its benchmark's scorer; add ``scores`` (JSON), ``extracted`` and ``output``."""
    from evalray.benchmarks import registry

    scores, extracted, outputs, errors = [], [], [], []
    for row in batch.to_dict("records"):
        name = row["benchmark"]
        benchmark = _BENCHMARKS.get(name) or _BENCHMARKS.setdefault(name, registry.get(name))
        generation = generation_from_row(row)
        outputs.append(generation.text)
        error = generation.error
        values: dict[str, float] = {}
        answer = None
        if not error:
            try:
                result = benchmark.score(sample_from_row(row), generation, row["mode"])
                values, answer = result.values, result.extracted
            except Exception as exc:  # a scorer bug on one sample is recorded, not fatal
                error = f"scoring failed: {type(exc).__name__}: {exc}"[:500]
        scores.append(json.dumps(values))
        extracted.append(answer)
        errors.append(error)
    batch["scores"] = scores
    batch["extracted"] = extracted
    batch["output"] = outputs
    batch["error"] = errors
    return batch


def score_stage(ds, scoring: ScoringSpec):
    return ds.map_batches(score_batch, batch_format="pandas", batch_size=scoring.batch_size, num_cpus=scoring.num_cpus)


def _quiet_libraries() -> None:
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def benchmark_spec_by_name(job: JobSpec) -> dict[str, BenchmarkSpec]:
    return {b.name: b for b in job.benchmarks}
