"""Run a perf job: workload (prompts, sessions or a trace) -> fleet -> one run per sweep point (or an SLO rate search) -> perf.json, records.parquet,
console table and report.html."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from evalray.job.perf_spec import MAX_REQUESTS_PER_POINT, PerfJobSpec, Slo, parse_slos
from evalray.loadgen.console import print_table
from evalray.loadgen.fleet import Fleet, build_setup
from evalray.loadgen.metrics import compute_metrics, max_in_flight
from evalray.loadgen.output import write_outputs
from evalray.loadgen.result import PerfResult
from evalray.loadgen.schedule import RunPoint
from evalray.loadgen.quality import quality_figures
from evalray.loadgen.workload_metrics import workload_figures
from evalray.loadgen.workloads import WorkloadPlan, plan_point, plan_workload, with_trace_sessions

DEFAULT_MAX_CONNECTIONS = 65_536


def _max_connections(spec: PerfJobSpec, point: RunPoint, workers: int) -> int:
    """Per worker: its share of the concurrency (closed loop, at most 65536) or of ``load.max_connections``."""
    if point.concurrency is not None:
        return max(1, min(math.ceil(point.concurrency / workers), DEFAULT_MAX_CONNECTIONS))
    total = spec.load.max_connections or DEFAULT_MAX_CONNECTIONS
    return max(1, math.ceil(total / workers))


def _progress(label: str, expected: int | None, enabled: bool):
    def show(done: int, errors: int, elapsed: float) -> None:
        if not enabled:
            return
        of = f"/{expected}" if expected else ""
        rate = done / elapsed if elapsed > 0 else 0.0
        print(f"\r[{label}] {done}{of} requests, {errors} errors, {elapsed:6.1f} s, {rate:8.1f} req/s ",
              end="", file=sys.stderr, flush=True)

    return show


def _say_when_capped(point: RunPoint, spec: PerfJobSpec, planned: int) -> None:
    load = spec.load
    asked = (load.num_requests or 0) + load.warmup_requests
    if point.rate is not None and load.duration_s is not None:
        asked = max(asked, math.ceil(min(point.rate * load.duration_s, 2.0**62)))
    if planned >= MAX_REQUESTS_PER_POINT and asked > planned:
        print(f"[{point.label()}] capped at {MAX_REQUESTS_PER_POINT:,} requests per run point", file=sys.stderr)


def _start_scraper(spec: PerfJobSpec):
    """The point's server-metrics scraper (driver thread), started; None without ``server_metrics``."""
    if spec.server_metrics is None:
        return None
    from evalray.loadgen.scrape import Scraper

    scraper = Scraper(spec.server_metrics, spec.target.url)
    scraper.start()
    return scraper


def run_point(spec: PerfJobSpec, fleet: Fleet, point: RunPoint, plan: WorkloadPlan, slos: list[Slo],
              setup_for: Any, index: int) -> tuple[dict[str, Any], pa.Table, bool]:
    workers = len(fleet.workers)
    fleet.prepare(setup_for(_max_connections(spec, point, workers)))
    slices = plan_point(plan, spec, point, workers, seed=spec.seed + index)
    _say_when_capped(point, spec, sum(s.count for s in slices))
    known = spec.load.num_requests is not None and plan.sessions is None
    expected = sum(s.count for s in slices) if known or point.speed is not None else None
    scraper = _start_scraper(spec)
    try:
        result = fleet.run(slices, _progress(point.label(), expected, spec.progress))
    except BaseException:
        if scraper is not None:
            scraper.stop(time.time())
        raise
    server = scraper.stop(time.time() - result.wall_s) if scraper is not None else None  # wall_s: since the start
    if spec.progress:
        print(file=sys.stderr)
    table = with_trace_sessions(result.table, plan)
    entry: dict[str, Any] = {"concurrency": point.concurrency, "rate": point.rate, "workers": workers}
    if point.speed is not None:
        entry["speed"] = point.speed
    if spec.workload is not None:
        entry["workload"] = spec.workload.type
    entry.update(compute_metrics(table, slos))
    entry.update(workload_figures(table, open_loop=point.concurrency is None))
    if plan.quality is not None:
        entry["quality"] = quality_figures(table, plan.quality, slos)
    entry["warmup_requests"] = int(sum(table["warmup"].to_pylist())) if table.num_rows else 0
    entry["max_open_streams"] = max_in_flight(table)  # from the records: requests open at the same moment
    entry["connections_opened"] = int(sum(s.get("connections", 0) for s in result.summaries))
    entry["dropped_requests"] = int(sum(s.get("dropped", 0) for s in result.summaries))
    entry["worker_nodes"] = result.nodes
    entry["interrupted"] = result.interrupted
    if server is not None:
        entry["server_metrics"] = server
    return entry, table.append_column("run", pa.array([index] * table.num_rows, pa.int32())), result.interrupted


def _search(spec: PerfJobSpec, fleet: Fleet, slos: list[Slo], setup_for: Any, result: PerfResult,
            plan: WorkloadPlan) -> None:
    """Highest open-loop rate whose run meets every SLO: double from min_rate until a miss (or max_rate), then bisect."""
    assert spec.search is not None
    search = spec.search

    def probe(rate: float) -> bool:
        entry, table, interrupted = run_point(spec, fleet, RunPoint(rate=round(rate, 3)), plan, slos,
                                              setup_for, len(result.runs))
        entry["search_probe"] = True
        result.runs.append(entry)
        result.tables.append(table)
        if interrupted:
            result.interrupted = True
            raise KeyboardInterrupt
        return bool(entry["slo"]["met"])

    low, high = None, None
    rate = search.min_rate
    while rate <= search.max_rate:
        if probe(rate):
            low = rate
            rate = min(rate * 2, search.max_rate) if rate < search.max_rate else search.max_rate * 2
        else:
            high = rate
            break
    if low is not None and high is not None:
        for _ in range(search.steps):
            middle = (low + high) / 2
            if probe(middle):
                low = middle
            else:
                high = middle
    result.search = {"best_rate": None if low is None else round(low, 3), "first_failing_rate": None if high is None else round(high, 3),
                     "slo": dict(spec.slo or {}), "probes": sum(1 for r in result.runs if r.get("search_probe"))}


def run_perf_job(spec: PerfJobSpec, address: str | None) -> Path:
    """Run the job and return its output directory (perf.json, records.parquet, report.html)."""
    if spec.export is not None:  # a missing tracker package is one clear error before any load is sent
        from evalray.results.export_trackers import require_tracker

        require_tracker(spec.export.to)
    output = Path(spec.output.replace("${name}", spec.name))
    output.mkdir(parents=True, exist_ok=True)
    slos = parse_slos(spec.slo)
    plan = plan_workload(spec)
    result = PerfResult()
    started = time.time()
    fleet = Fleet(spec, address)

    def setup_for(max_connections: int):
        return build_setup(spec, plan.prompts, max_connections, plan.sessions, keep_answers=plan.quality is not None)

    try:
        if spec.search is not None:
            _search(spec, fleet, slos, setup_for, result, plan)
        else:
            for index, point in enumerate(plan.points):
                entry, table, interrupted = run_point(spec, fleet, point, plan, slos, setup_for, index)
                result.runs.append(entry)
                result.tables.append(table)
                if interrupted:
                    result.interrupted = True
                    break
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        fleet.close()
    write_outputs(spec, result, output, started)
    print_table(result.runs, result.search)
    if spec.export is not None:
        _export(spec, output)
    return output


def _export(spec: PerfJobSpec, output: Path) -> None:
    """The job's ``export:`` block: the run's summary rows to W&B or MLflow (perf.json is already written)."""
    import json

    from evalray.results.export import perf_rows
    from evalray.results.export_trackers import log_rows

    assert spec.export is not None
    document = json.loads((output / "perf.json").read_text(encoding="utf-8"))
    rows = perf_rows(document, output)
    if rows:
        print(log_rows(spec.export.to, rows, spec.export.project or spec.name, spec.export.run_name), file=sys.stderr)
