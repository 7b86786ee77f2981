"""Run an evaluation job in named phases: plan -> execute (Ray Data) -> collect -> result -> write.

* **plan** (:mod:`evalray.pipeline.plan`): models checked on the driver, request rows built, before Ray starts;
* **resume** (:mod:`evalray.results.store`): the output directory's unfinished run of the same fingerprint is
  continued (its scored samples are not asked again), or the directory is cleared for this run;
* **execute**: Ray up (:mod:`evalray.runtime`), each backend's driver context (a Serve deployment) entered, the
  unioned Ray Data execution streamed to the driver; a failure or Ctrl-C stops it and keeps what arrived;
* **collect**: rows grouped per (model, benchmark), copies of a sample seen twice counted and dropped (never silently);
* **result**: aggregates, counts and status as a typed :class:`~evalray.results.schema.RunResult`;
* **write**: result.json (atomically), per-sample Parquet, reports. Every scored batch is also on disk the moment it
  arrives (``parts/``), so a killed run loses nothing that was scored.
"""

from __future__ import annotations

import contextlib
import platform
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Iterable

from evalray import __version__
from evalray.job.loader import public_job_dict
from evalray.job.spec import JobSpec
from evalray.models.registry import plugin_for
from evalray.pipeline import arena_summary, judging, stages
from evalray.pipeline.plan import RunPlan, now, plan_run
from evalray.results.progress import ProgressWriter  # <output>/progress.json for the dashboard
from evalray.results.schema import RunResult
from evalray.results.store import RunStore, fingerprint

Row = dict[str, Any]


@dataclass
class RunOutcome:
    result: dict[str, Any]
    output: str


@dataclass
class Execution:
    tables: list[Any] = field(default_factory=list)
    status: str = "completed"
    error: str | None = None
    interrupted: BaseException | None = None  # the KeyboardInterrupt (or SIGTERM) that stopped it
    judged: list[Any] = field(default_factory=list)  # judged benchmarks' batches (evalray.pipeline.judging)


@dataclass
class Collection:
    samples: dict[tuple[str, str], list[Row]]
    duplicates: Counter


def run_job(job: JobSpec, address: str | None = None, output: str | None = None, progress: bool = True,
            resume: bool | None = None) -> RunOutcome:
    """Run a job; ``resume``: None = continue an unfinished run of the same job in the output directory if there is
    one, True = insist on continuing one (a different job is refused), False = always start afresh."""
    from evalray.results import writers

    plan = plan_run(job, output)
    store = RunStore(plan.output)
    state = store.begin(plan.run_id, plan.started_at, fingerprint(__version__, job.models, plan.rows_by_model),
                        resume=resume)
    if state.run_id:
        plan.run_id = state.run_id
    pending = plan.pending(state.done)
    tracker = ProgressWriter(writers.local_path(plan.output), {(m.name, b.name): plan.expected(m.name, b.name)
                                                               for m in job.models for b in job.benchmarks}, job.name)
    tracker.update(state.scored)
    execution = execute(plan, pending, address, progress, already=len(state.scored),
                        on_batch=lambda batch: (store.append(batch), tracker.update(batch)))
    collection = collect(chain(state.scored, (row for table in execution.tables for row in table.to_pylist())))
    judged = arena_summary.reduce_judged(job, execution.judged)
    collection.samples.update(judged.samples)
    result = arena_summary.finish(job, build_result(plan, collection, execution), judged, collection.samples)
    location = writers.write_run(plan.output, result, collection.samples, judged.judgments)
    store.finish(result.status)
    tracker.close(result.status)
    if execution.interrupted is not None:
        raise execution.interrupted
    return RunOutcome(result=result.as_dict(), output=location)


def execute(plan: RunPlan, pending: dict[str, list[Row]], address: str | None, progress: bool,
            on_batch: Callable[[Any], None] | None = None, already: int = 0) -> Execution:
    """Stream the job's Ray Data execution to the driver; keep (and hand to ``on_batch``) every batch that arrived,
    whatever stops it. Nothing pending: Ray is not even started."""
    from evalray.runtime import ray_session

    job = plan.job
    execution = Execution()
    if not any(pending.values()):
        return execution
    try:
        with ray_session(address or job.ray.address, namespace=job.ray.namespace, runtime_env=job.runtime_env,
                         num_cpus=job.ray.num_cpus), configure_ray_data(job.ray.actor_start_timeout_s):
            # driver contexts (a Serve deployment) need Ray and are torn down before Ray stops
            with contextlib.ExitStack() as stack:
                models = [stack.enter_context(plugin_for(m).driver_context(m)) for m in job.models]
                rule, judged = judging.split_rows(job, pending)
                with _progress(plan.total, progress, already) as bar:
                    if any(rule.values()):
                        dataset = stages.evaluation_dataset(job, models, rule)
                        for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
                            execution.tables.append(batch)
                            if on_batch is not None:
                                on_batch(batch)
                            bar.update(batch.num_rows)
                    if any(judged.values()):  # judged benchmarks: their own rounds (evalray.pipeline.judging)
                        judges = [stack.enter_context(plugin_for(j).driver_context(j)) for j in job.judges]
                        judging.execute_judged(job, models, judges, judged, bar, execution.judged)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (the CLI raises Terminated)
        execution.status, execution.error, execution.interrupted = "failed", "interrupted", exc
    except Exception as exc:
        execution.status, execution.error = "failed", one_line_error(exc)
        if "Timed out while starting actors" in execution.error:
            execution.error = (f"the model and judge actor pools did not all start within ray.actor_start_timeout_s="
                               f"{job.ray.actor_start_timeout_s} s: does the cluster have the CPUs/GPUs/memory their "
                               "replicas ask for? Raise the timeout for slow model loads.")
    return execution


def collect(rows: Iterable[Row]) -> Collection:
    """Rows per (model, benchmark), one per sample: a sample that arrives twice (a retried task) keeps its last copy,
    and the extra copies are counted."""
    latest: dict[tuple[str, str], Row] = {}
    seen: Counter = Counter()
    for row in rows:
        key = (row["model"], row["uid"])
        seen[(row["model"], row["benchmark"])] += key in latest
        latest[key] = row
    samples: dict[tuple[str, str], list[Row]] = {}
    for row in latest.values():
        samples.setdefault((row["model"], row["benchmark"]), []).append(row)
    return Collection(samples=samples, duplicates=seen)


def build_result(plan: RunPlan, collection: Collection, execution: Execution) -> RunResult:
    import ray

    from evalray.benchmarks import registry
    from evalray.results import aggregate

    job = plan.job
    scores, counts = [], []
    for model in job.models:
        for entry in job.benchmarks:
            part = collection.samples.get((model.name, entry.name), [])
            counts.append({**aggregate.count_row(part, model.name, entry.name),
                           "expected": plan.expected(model.name, entry.name),
                           "duplicates": collection.duplicates[(model.name, entry.name)]})
            if part:
                scores += aggregate.score_rows(part, model.name, entry.name, registry.for_entry(entry).categories)
    status, error = execution.status, execution.error
    if status == "completed" and any(c["errors"] or c["samples"] < c["expected"] for c in counts):
        status = "partial"
    collected = sum(c["samples"] for c in counts)
    if status != "failed" and collected and sum(c["errors"] for c in counts) == collected:
        first = next(row.get("error") for part in collection.samples.values() for row in part)
        status, error = "failed", f"every sample errored (first: {first})"[:500]
    return RunResult(
        run_id=plan.run_id, name=job.name, status=status, started_at=plan.started_at, finished_at=now(),
        job=public_job_dict(job), env={"evalray": __version__, "ray": ray.__version__,
                                       "python": platform.python_version()},
        scores=scores, counts=counts, actors=_actor_counts(collection), error=error,
    )


def _actor_counts(collection: Collection) -> list[dict[str, Any]]:
    """Which actor (and node) served how many samples."""
    served: Counter = Counter()
    for part in collection.samples.values():
        for row in part:
            if row.get("served_by") is not None:
                served[(row["model"], row.get("served_by"), row.get("node_id"))] += 1
    return [{"model": m, "actor_id": a, "node_id": n, "samples": count}
            for (m, a, n), count in sorted(served.items(), key=lambda item: tuple(str(x) for x in item[0]))]


@contextlib.contextmanager
def configure_ray_data(actor_start_timeout_s: int):
    """For the block: quiet Ray Data, and have every actor pool start all its actors before it takes work (else the
    first replica ready takes every block in flight and the others idle). The process's DataContext is put back
    afterwards, so a job's actor-start timeout does not outlive it (a library caller's own Ray Data use, the next
    job in the same process)."""
    import logging

    from ray.data import DataContext

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # evalray shows its own progress bar
    context = DataContext.get_current()
    settings = {"enable_progress_bars": False, "enable_operator_progress_bars": False,
                "print_on_execution_start": False, "wait_for_min_actors_s": actor_start_timeout_s}
    before = {name: getattr(context, name) for name in settings}
    for name, value in settings.items():
        setattr(context, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(context, name, value)


def one_line_error(exc: BaseException) -> str:
    """The innermost informative message of a (possibly Ray-wrapped) exception chain, as one line: an evalray error
    anywhere in the chain (or quoted in a Ray traceback) wins, else the innermost exception's last line."""
    import re

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    ours = re.compile(r"(?:^|\s)(?:evalray\.[\w.]+\.)?(?:EvalrayError|BackendError|ConfigError|RowSchemaError|SandboxUnavailable): (.+)")
    for candidate in reversed(chain):
        for line in str(candidate).splitlines():
            match = ours.search(line)
            if match:
                return match.group(1).strip()[:500]
    for candidate in reversed(chain):
        lines = [line for line in str(candidate).strip().splitlines() if line.strip()]
        if lines:
            return f"{type(candidate).__name__}: {lines[-1].strip()}"[:500]
    return type(exc).__name__


@contextlib.contextmanager
def _progress(total: int, enabled: bool, already: int = 0):
    from tqdm import tqdm

    bar = tqdm(total=total, initial=already, desc="samples", unit="sample", disable=not enabled, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()
