"""The one base of every model stage on Ray Data.

:class:`ModelStage` is the Ray Data actor UDF of a model: it owns the secrets handed over from the driver, the actor
and node identity stamped on each row, input validation against :mod:`evalray.rows`, and the encoding of answers;
:func:`map_batches_options` turns a model's resources into Ray Data options. A backend whose replicas are
:class:`~evalray.models.base.Backend` objects needs nothing more than :func:`actor_pool_stage`; a backend with its own
Ray Data chain (vLLM) still reads and writes rows through :mod:`evalray.rows`.
"""

from __future__ import annotations

import os
from typing import Any

from evalray import rows
from evalray.job.spec import AnyModelSpec, parse_model_spec


def driver_secrets(spec: AnyModelSpec) -> dict[str, str]:
    """The API key named by ``api_key_env``, read on the driver and handed to the model actors in memory (workers on
    other nodes do not share the driver's environment); it is never written to results or logs."""
    name = getattr(spec, "api_key_env", None)
    if name and name in os.environ:
        return {name: os.environ[name]}
    return {}


def map_batches_options(spec: AnyModelSpec) -> dict[str, Any]:
    """Ray Data resource options of one model actor."""
    resources = spec.resources
    return {
        "num_cpus": resources.num_cpus,
        "num_gpus": resources.num_gpus or None,
        "memory": int(resources.memory_gb * 1024**3) if resources.memory_gb else None,
        "accelerator_type": resources.accelerator_type,
    }


class ModelStage:
    """One model replica as a Ray Data actor: an Arrow batch of request rows in, the same rows plus the generation
    columns out (and the score columns too when ``score_entries`` is given: the benchmark entries for
    :func:`evalray.benchmarks.batch_scoring.score_batch`). Subclasses (or the plugin's backend class) answer; every
    failure becomes an error on its rows."""

    stage_name = "generate"

    def __init__(self, spec_json: str, secrets: dict[str, str] | None = None, backend_module: str = "",
                 quiet_transformers: bool = False, score_entries: str | None = None) -> None:
        import importlib

        import ray

        os.environ.update(secrets or {})  # API keys live in this process's memory only
        self.spec = parse_model_spec(spec_json)
        if quiet_transformers:
            _quiet_transformers()
        self.backend = importlib.import_module(backend_module).BACKEND(self.spec)  # the plugin's implementation
        context = ray.get_runtime_context()
        self.actor_id = context.get_actor_id() or f"task-{context.get_task_id()}"
        self.node_id = context.get_node_id()
        self.score_entries = score_entries

    def __call__(self, table):
        from evalray.models.base import answer_requests

        rows.validate_request_table(table, f"{self.stage_name} stage of model '{self.spec.name}'")
        generations = answer_requests(self.backend, rows.read_requests(table))
        generated = rows.append_generations(table, generations, self.actor_id, self.node_id)
        if self.score_entries is None:
            return generated
        from evalray.benchmarks.batch_scoring import score_batch

        return score_batch(generated, self.score_entries)

    def __del__(self) -> None:  # release clients and engines when the pool lets the actor go
        backend = getattr(self, "backend", None)
        if backend is not None:
            try:
                backend.close()
            except Exception:
                pass


def _quiet_transformers() -> None:
    """No per-actor weight-loading bars or notices (imports transformers: only where the backend uses it)."""
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except ImportError:
        pass


def actor_pool_stage(ds, spec: AnyModelSpec, backend_module: str, *, quiet_transformers: bool = False,
                     batch_size: int | None = None, calls_per_actor: int = 1, score_entries: str | None = None):
    """The generate stage as an actor pool of ``replicas`` :class:`ModelStage` actors with the model's resources,
    each running the ``BACKEND`` of ``backend_module`` (the plugin's module, which the registry names).
    ``calls_per_actor`` > 1 lets one actor work on several batches at once (an I/O-bound client sharing one loop);
    ``score_entries``: the actors also score their batches (see :class:`ModelStage`)."""
    import ray

    compute: dict[str, Any] = {"size": spec.replicas}
    if calls_per_actor > 1:
        compute.update(max_tasks_in_flight_per_actor=calls_per_actor, max_concurrent_calls_per_actor=calls_per_actor,
                       enable_true_multi_threading=True)
    return ds.map_batches(
        ModelStage,
        fn_constructor_args=(spec.model_dump_json(), driver_secrets(spec), backend_module, quiet_transformers,
                             score_entries),
        compute=ray.data.ActorPoolStrategy(**compute),
        batch_size=batch_size or spec.batch_size,
        batch_format="pyarrow",
        zero_copy_batch=True,
        **map_batches_options(spec),
    )
