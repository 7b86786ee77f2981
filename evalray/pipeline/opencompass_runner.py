"""Run a ``kind: opencompass`` job: OpenCompass's own datasets and evaluators against each model's endpoint.

1. **environment** (driver, before Ray): the isolated OpenCompass environment is made ready (installed once, then
   reused; a one-line error when it cannot be installed): :mod:`evalray.pipeline.opencompass_env`;
2. **execute**: Ray up, each model's driver context entered (``serve`` deploys or attaches and yields its URL), one
   Ray task per (model, dataset config) with ``runtime_env={"py_executable": <env python>}`` running OpenCompass
   (:func:`evalray.pipeline.opencompass_task.run_task`);
3. **convert**: OpenCompass's per-dataset results JSON into ``result.json`` score rows, one per (model, dataset,
   metric): benchmark ``opencompass:<dataset abbr>``, metric OpenCompass's name, value OpenCompass's number / 100
   (OpenCompass reports percentages, evalray fractions), n the dataset's predictions, and for ``accuracy`` the
   stderr and 95% interval from OpenCompass's per-item ``correct`` verdicts. OpenCompass's own summary CSV
   and work directory stay under ``<output>/opencompass/``.
"""

from __future__ import annotations

import datetime as dt
import platform
import uuid
from pathlib import Path
from typing import Any

from evalray import __version__
from evalray.job.loader import public_job_dict
from evalray.job.opencompass_spec import OpenCompassJobSpec
from evalray.results.schema import RunResult

PREFIX = "opencompass:"
Row = dict[str, Any]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def benchmark_name(abbr: str) -> str:
    return PREFIX + abbr


def default_tokenizer(model) -> str:
    source = getattr(model, "source", "")
    if source and Path(source).is_dir():
        return str(Path(source).resolve())
    from evalray.models.tiny import ensure_tiny_llama

    return str(ensure_tiny_llama())


def served_model_id(base_url: str, model_id: str | None, api_key: str | None, timeout_s: float = 30.0) -> str:
    """The model name sent in requests: the spec's, else the server's first model (GET /models)."""
    if model_id:
        return model_id
    import json
    import urllib.request

    from evalray.errors import BackendError

    request = urllib.request.Request(base_url.rstrip("/") + "/models",
                                     headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())["data"][0]["id"]
    except Exception as exc:  # noqa: BLE001
        raise BackendError(f"could not list the models of {base_url} ({type(exc).__name__}: {exc}); set model_id")


def model_settings(job: OpenCompassJobSpec, model, effective) -> tuple[dict[str, Any], str | None]:
    """OpenCompass's OpenAI model options for one (effective, i.e. endpoint) model spec, and its API key."""
    import os

    oc = job.opencompass
    key = os.environ.get(effective.api_key_env) if getattr(effective, "api_key_env", None) else None
    base = effective.source.rstrip("/")
    settings = dict(
        abbr=model.name, model_id=served_model_id(base, effective.model_id, key), url=base + "/chat/completions",
        tokenizer=oc.tokenizer or default_tokenizer(model), qps=oc.query_per_second, max_out_len=oc.max_out_len,
        max_seq_len=oc.max_seq_len, batch_size=oc.batch_size, temperature=model.generation.temperature,
        retry=oc.retry)
    return settings, key


def convert(model: str, outcome: dict[str, Any]) -> tuple[list[Row], list[Row]]:
    """Score rows and count rows of one task's outcome (OpenCompass's results JSON per dataset)."""
    scores: list[Row] = []
    counts: list[Row] = []
    for abbr, result in outcome.get("results", {}).items():
        n = int(outcome.get("counts", {}).get(abbr, 0))
        verdicts = (outcome.get("correct") or {}).get(abbr)
        for metric, value in result.items():
            if metric == "details" or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            row = dict(model=model, benchmark=benchmark_name(abbr), subset=None, metric=metric, level="overall",
                       value=float(value) / 100.0, stderr=None, ci_low=None, ci_high=None, n=n)
            if metric == "accuracy" and verdicts and len(verdicts) == n:
                row.update(interval(verdicts, row["value"]))
            scores.append(row)
        counts.append(dict(model=model, benchmark=benchmark_name(abbr), samples=n, errors=0, expected=n,
                           duplicates=0))
    return scores, counts


def interval(verdicts: list[bool], value: float) -> dict[str, float | None]:
    """stderr and 95% interval of an accuracy from OpenCompass's per-item verdicts (evalray's formulas), when they
    agree with its number."""
    from evalray.scoring.metrics import confidence_interval, mean_stderr

    import math

    mean, stderr = mean_stderr([float(v) for v in verdicts])
    if abs(mean - value) > 1e-9 or math.isnan(stderr):
        return {}
    low, high = confidence_interval(value, stderr)
    return {"stderr": stderr, "ci_low": low, "ci_high": high}


def run_opencompass_job(job: OpenCompassJobSpec, address: str | None = None, output: str | None = None):
    """Run the job; returns the same :class:`~evalray.pipeline.runner.RunOutcome` as an eval job."""
    import contextlib

    import ray

    from evalray.models.registry import plugin_for
    from evalray.pipeline.opencompass_env import OPENCOMPASS_VERSION, check_datasets, ensure_env, env_python
    from evalray.pipeline.runner import RunOutcome, one_line_error
    from evalray.results import writers
    from evalray.runtime import ray_session

    oc = job.opencompass
    started = now()
    run_id = f"{job.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    target = output or job.output
    local = writers.local_path(target)
    work_root = (local if local is not None else Path(".")).resolve() / "opencompass"
    if oc.data_dir and not Path(oc.data_dir).is_dir():
        from evalray.errors import ConfigError

        raise ConfigError(f"opencompass.data_dir: {oc.data_dir} is not a directory (the OpenCompass data bundle)")
    env = ensure_env(oc.env_dir, oc.install_timeout_s)  # one line when it cannot be installed
    check_datasets(env, oc.datasets)
    python = str(env_python(env))
    data_dir = str(Path(oc.data_dir).resolve()) if oc.data_dir else None
    scores: list[Row] = []
    counts: list[Row] = []
    errors: list[str] = []
    status, error = "completed", None
    interrupted: BaseException | None = None
    try:
        with ray_session(address or job.ray.address, namespace=job.ray.namespace, runtime_env=job.runtime_env,
                         num_cpus=job.ray.num_cpus):
            from evalray.pipeline.opencompass_task import run_task

            remote = ray.remote(run_task).options(num_cpus=oc.num_cpus, max_retries=0,
                                                  runtime_env={"py_executable": python})
            with contextlib.ExitStack() as stack:
                pending = {}
                for model in job.models:
                    effective = stack.enter_context(plugin_for(model).driver_context(model))
                    settings, key = model_settings(job, model, effective)
                    for name in oc.datasets:
                        task = dict(model=settings, api_key=key, dataset=name, data_dir=data_dir, limit=oc.limit,
                                    timeout_s=oc.timeout_s, work_dir=str(work_root / model.name / name))
                        pending[remote.remote(task)] = (model.name, name)
                for ref, (model_name, name) in pending.items():
                    outcome = ray.get(ref)
                    if "error" in outcome:
                        errors.append(f"{model_name}/{name}: {outcome['error']}")
                        continue
                    rows, tallies = convert(model_name, outcome)
                    scores += rows
                    counts += tallies
    except KeyboardInterrupt as exc:
        status, error, interrupted = "failed", "interrupted", exc
    except Exception as exc:  # noqa: BLE001 (one line in result.json)
        status, error = "failed", one_line_error(exc)
    if status == "completed" and errors:
        status, error = ("partial" if scores else "failed"), errors[0][:500]
    result = RunResult(
        run_id=run_id, name=job.name, status=status, started_at=started, finished_at=now(),
        job=public_job_dict(job), env={"evalray": __version__, "ray": ray.__version__, "opencompass":
                                       OPENCOMPASS_VERSION, "python": platform.python_version()},
        scores=scores, counts=counts, error=error,
    )
    location = writers.write_run(target, result, {})
    if interrupted is not None:
        raise interrupted
    return RunOutcome(result=result.as_dict(), output=location)
