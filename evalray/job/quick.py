"""The job of a one-line ``evalray eval --model SOURCE --benchmarks a,b ...``: a job dict built from
:class:`QuickEval`, validated by the same loader and pydantic specs as a YAML job (:func:`evalray.job.loader.build_job`),
so ``--dry-run`` prints a file that ``evalray validate`` accepts and ``evalray run`` runs the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from evalray.errors import ConfigError
from evalray.job.base import MAX_NAME
from evalray.job.loader import apply_override, build_job
from evalray.job.spec import JobSpec

QUICK_BACKENDS = ("hf", "openai", "vllm", "serve")


@dataclass
class QuickEval:
    """The options of ``evalray eval``."""

    model: str
    benchmarks: list[str]
    backend: str = "hf"
    limit: int | None = None
    chat: bool = False
    replicas: int = 1
    output: str | None = None
    data_dir: str | None = None  # a folder of <benchmark>/ copies (e.g. ../shared/data, or builtin:quickstart)
    name: str | None = None
    overrides: list[str] = field(default_factory=list)  # -S key.path=value, applied to the job dict


def model_name(source: str) -> str:
    """A result name for a model source: the last part of a path or hub id, the host of a URL."""
    text = source.strip().rstrip("/")
    if "://" in text:
        text = text.split("://", 1)[1].split("/")[0]
    elif text.startswith("builtin:"):
        text = text[len("builtin:"):]
    else:
        text = text.split("/")[-1]
    text = re.sub(r"[^A-Za-z0-9._+=@:-]+", "-", text).lstrip("._+=@:-")[:MAX_NAME]
    return text or "model"


def quick_job_dict(options: QuickEval) -> dict[str, Any]:
    """The job file's content (only what is not a default), ``-S`` overrides applied."""
    if options.backend not in QUICK_BACKENDS:
        raise ConfigError(f"--backend: '{options.backend}' is not one of {', '.join(QUICK_BACKENDS)} (other backends: "
                          "write a job file)")
    names = [b.strip() for b in options.benchmarks if b.strip()]
    if not names:
        raise ConfigError("--benchmarks: name at least one benchmark, e.g. --benchmarks gsm8k,mmlu")
    name = options.name or model_name(options.model)
    model: dict[str, Any] = {"name": model_name(options.model), "backend": options.backend, "source": options.model}
    if options.replicas != 1:
        model["replicas"] = options.replicas
    if options.chat:
        model["chat"] = True
    benchmarks = []
    for benchmark in names:
        entry: dict[str, Any] = {"name": benchmark}
        if options.limit is not None:
            entry["limit"] = options.limit
        if options.data_dir:
            entry["data_dir"] = f"{options.data_dir.rstrip('/')}/{benchmark}"
        benchmarks.append(entry)
    job: dict[str, Any] = {"name": name, "models": [model], "benchmarks": benchmarks}
    if options.output:
        job["output"] = options.output
    for assignment in options.overrides:
        apply_override(job, assignment)
    return job


def quick_job(options: QuickEval) -> tuple[JobSpec, dict[str, Any]]:
    """The validated job and the dict it came from (what ``--dry-run`` prints)."""
    data = quick_job_dict(options)
    job = build_job(data, "evalray eval")
    if not isinstance(job, JobSpec):
        raise ConfigError("evalray eval: builds eval jobs only (kind: eval)")
    return job, data
