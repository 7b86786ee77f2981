"""Run an evaluation job: requests on the driver, generate and score stages on Ray Data, aggregation and writers.

All benchmarks of a model go through its actor pool together, and the datasets of all models are unioned into one
Ray Data execution, so several models (each with its own pool and resources) run at once. Results collected before a
failure or Ctrl-C are still written, with ``status: failed``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evalray import __version__
from evalray.job.loader import public_job_dict
from evalray.job.spec import JobSpec, ModelSpec
from evalray.pipeline import stages


@dataclass
class RunOutcome:
    result: dict[str, Any]
    output: str


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def preflight(model: ModelSpec) -> None:
    """Fail fast, on the driver and in one line, for models that cannot start (bad path, unreachable server)."""
    from evalray.errors import BackendError

    if model.backend in ("hf", "vllm"):
        from evalray.models.tiny import resolve_source

        source = resolve_source(model.source)
        if not os.path.isdir(source):
            try:
                from transformers import AutoConfig

                AutoConfig.from_pretrained(source, trust_remote_code=model.trust_remote_code)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BackendError(f"model '{model.name}': cannot load '{model.source}' ({first})") from None
    elif model.backend == "openai":
        from evalray.models.openai_backend import check_reachable

        check_reachable(model)
    elif model.backend == "replay":
        from evalray.models.replay import read_replay

        read_replay(model.source)


def init_ray(job: JobSpec, address: str | None) -> bool:
    """Connect to (or start) Ray; return True when this call started it."""
    import ray

    if ray.is_initialized():
        return False
    address = address or job.ray.address or os.environ.get("RAY_ADDRESS")  # set for Ray Jobs entrypoints
    kwargs: dict[str, Any] = dict(namespace=job.ray.namespace, runtime_env=job.runtime_env, logging_level="WARNING")
    if address:
        ray.init(address=address, **kwargs)
    else:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep the embedded Ray on 127.0.0.1
        # address="local": always a fresh embedded Ray, even when a `ray start` cluster runs on this machine
        ray.init(address="local", num_cpus=job.ray.num_cpus, include_dashboard=False, **kwargs)
    return True


def _configure_ray_data() -> None:
    import logging

    from ray.data import DataContext

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # evalray shows its own progress bar
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.enable_operator_progress_bars = False
    context.print_on_execution_start = False


def build_dataset(job: JobSpec, models: list[ModelSpec], rows_by_model: dict[str, list[dict[str, Any]]]):
    import ray

    datasets = []
    for model in models:
        rows = rows_by_model[model.name]
        if not rows:
            continue
        blocks = max(2 * model.replicas, min(200, len(rows) // max(1, model.batch_size * 2)))
        ds = ray.data.from_items(rows, override_num_blocks=min(blocks, len(rows)))
        datasets.append(stages.generate_stage(ds, model))
    dataset = datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]
    return stages.score_stage(dataset, job.scoring)


def run_job(job: JobSpec, address: str | None = None, output: str | None = None, progress: bool = True) -> RunOutcome:
    import ray

    from evalray.results import aggregate, writers

    started = _now()
    run_id = f"{job.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    output = output or job.output
    for model in job.models:
        preflight(model)
    rows_by_model = {model.name: stages.request_rows(job, model) for model in job.models}
    total = sum(len(rows) for rows in rows_by_model.values())
    frames: list[pd.DataFrame] = []
    status, error = "completed", None
    started_ray = False
    try:
        started_ray = init_ray(job, address)
        _configure_ray_data()
        # driver contexts (e.g. a Serve deployment) need Ray and are torn down before Ray stops
        with contextlib.ExitStack() as stack:
            models = [
                stack.enter_context(_module(m).driver_context(m)) if hasattr(_module(m), "driver_context") else m
                for m in job.models
            ]
            dataset = build_dataset(job, models, {m.name: rows_by_model[m.name] for m in models})
            with _progress(total, progress) as bar:
                for batch in dataset.iter_batches(batch_format="pandas", batch_size=None):
                    frames.append(batch)
                    bar.update(len(batch))
    except KeyboardInterrupt:
        status, error = "failed", "interrupted"
    except Exception as exc:
        status, error = "failed", _one_line(exc)
    finally:
        if started_ray:
            ray.shutdown()
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["model", "benchmark", "uid", "error"])
    frame = frame.drop_duplicates(subset=["model", "uid"], keep="last")
    from evalray.benchmarks import registry

    scores, counts, per_file = [], [], {}
    for model in job.models:
        for entry in job.benchmarks:
            part = frame[(frame["model"] == model.name) & (frame["benchmark"] == entry.name)]
            expected = sum(1 for r in rows_by_model[model.name] if r["benchmark"] == entry.name)
            counts.append({**aggregate.count_row(part, model.name, entry.name), "expected": expected})
            if len(part):
                per_file[(model.name, entry.name)] = part
                scores += aggregate.score_rows(part, model.name, entry.name, registry.get(entry.name).categories)
    if status == "completed" and any(c["errors"] or c["samples"] < c["expected"] for c in counts):
        status = "partial"
    result = {
        "schema_version": writers.SCHEMA_VERSION, "run_id": run_id, "name": job.name, "status": status,
        "started_at": started, "finished_at": _now(), "job": public_job_dict(job),
        "env": {"evalray": __version__, "ray": ray.__version__, "python": platform.python_version()},
        "scores": scores, "counts": counts, "actors": _actor_counts(frame),
    }
    if error:
        result["error"] = error
    location = writers.write_run(output, result, per_file)
    if status == "failed" and error == "interrupted":
        raise KeyboardInterrupt
    return RunOutcome(result=result, output=location)


def _module(model: ModelSpec):
    from evalray.models.registry import backend_module

    return backend_module(model.backend)


def _actor_counts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Which actor (and node) served how many samples."""
    if "served_by" not in frame or frame.empty:
        return []
    grouped = frame.groupby(["model", "served_by", "node_id"], dropna=False).size().reset_index(name="samples")
    return [{"model": r.model, "actor_id": r.served_by, "node_id": r.node_id, "samples": int(r.samples)}
            for r in grouped.itertuples()]


def _one_line(exc: BaseException) -> str:
    """The innermost informative message of a (possibly Ray-wrapped) exception chain, as one line."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    for candidate in reversed(chain):
        text = " ".join(str(candidate).split())
        if not text:
            continue
        for marker in ("EvalrayError: ", "BackendError: ", "ConfigError: "):
            if marker in text:
                return text.split(marker, 1)[1][:500]
        lines = [line for line in str(candidate).strip().splitlines() if line.strip()]
        return f"{type(candidate).__name__}: {lines[-1].strip() if lines else text}"[:500]
    return type(exc).__name__


@contextlib.contextmanager
def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    bar = tqdm(total=total, desc="samples", unit="sample", disable=not enabled, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
