"""The plan phase of a run: every model checked on the driver, and every request row built (once per benchmark).

A benchmark's samples, few-shot prompts and requests are built once for each distinct way models ask for them
(chat or not, generate-only or not), then stamped with each model's name: a job of five base models builds MMLU's
prompts once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from evalray import rows
from evalray.job.spec import BenchmarkSpec, JobSpec, ModelSpecBase
from evalray.models.registry import plugin_for
from evalray.types import Request, Sample

Prepared = list[tuple[Sample, Request, str]]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunPlan:
    """What a run will do: its identity, where it writes, and the request rows of each model."""

    job: JobSpec
    run_id: str
    output: str
    started_at: str
    rows_by_model: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _expected: Counter | None = field(default=None, repr=False)

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows_by_model.values())

    def expected(self, model: str, benchmark: str) -> int:
        """Samples the job asks of ``model`` on ``benchmark`` (counted once over all rows, on first use)."""
        if self._expected is None:
            self._expected = Counter((model, row["benchmark"]) for model, rows in self.rows_by_model.items()
                                     for row in rows)
        return self._expected[(model, benchmark)]

    def pending(self, done: set[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
        """The request rows still to answer: those whose (model, uid) is not in ``done``."""
        return {model: [row for row in rows if (model, row["uid"]) not in done]
                for model, rows in self.rows_by_model.items()}


def plan_run(job: JobSpec, output: str | None = None) -> RunPlan:
    """Check every model (one line on failure, before Ray starts) and build all request rows."""
    for model in list(job.models) + list(job.judges):
        plugin_for(model).preflight(model)
    run_id = f"{job.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    plan = RunPlan(job=job, run_id=run_id, output=output or job.output, started_at=now())
    plan.rows_by_model = request_rows(job)
    return plan


def request_rows(job: JobSpec) -> dict[str, list[dict[str, Any]]]:
    """Every request row of every model, keyed by model name."""
    prepared: dict[tuple[str, bool, bool], Prepared] = {}
    by_model: dict[str, list[dict[str, Any]]] = {}
    for model in job.models:
        out: list[dict[str, Any]] = []
        for entry in job.benchmarks:
            items = _prepared(prepared, entry, model, job.seed)
            out += [rows.request_row(sample, request, model.name, mode) for sample, request, mode in items]
        by_model[model.name] = out
    return by_model


def _prepared(cache: dict[tuple[str, bool, bool], Prepared], entry: BenchmarkSpec, model: ModelSpecBase,
              seed: int) -> Prepared:
    from evalray.benchmarks import registry

    force_generate = plugin_for(model).capabilities.forces_generate
    key = (entry.model_dump_json(), model.chat, force_generate)
    if key not in cache:
        benchmark = registry.for_entry(entry)
        cache[key] = list(benchmark.requests(entry, model.chat, seed, force_generate))
    return cache[key]
