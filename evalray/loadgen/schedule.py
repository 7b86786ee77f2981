"""Run points of a sweep, open-loop arrival times and each worker's slice of a run.

Open-loop arrival times are drawn once, before the run, as absolute offsets from the common start, so a slow answer
never delays the schedule. Inter-arrival gaps are gamma-distributed with shape ``burstiness`` and mean ``1/rate``
(``burstiness = 1`` is a Poisson process; ``constant`` spaces arrivals exactly ``1/rate`` apart). The gaps are then
scaled so that ``N`` arrivals span exactly ``(N-1)/rate`` seconds (the process conditioned on its count), so the offered
rate of every run equals the target instead of wandering by ``1/sqrt(N)``. A ramp-up of ``R``
seconds makes the instantaneous rate rise linearly from 0 to ``rate``: unit-rate arrival ``tau`` (in seconds at the
full rate) maps to ``sqrt(2 tau R)`` while ``tau < R/2`` and to ``tau + R/2`` after.

Nothing here grows with the nominal load: arrival times are drawn lazily, a chunk at a time, by each worker
(:mod:`evalray.loadgen.arrivals`), closed-loop users are started lazily by the engine, a closed loop never has more
users than requests, and no run point issues more than :data:`MAX_REQUESTS_PER_POINT` requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalray.job.perf_spec import MAX_REQUESTS_PER_POINT, LoadSpec
from evalray.loadgen.arrivals import ArrivalPlan
from evalray.loadgen.engine import WorkerSlice

FIRST_SEND_S = 0.0


@dataclass(frozen=True)
class RunPoint:
    """One point of a sweep: a closed-loop concurrency, an open-loop rate or a trace replay speed."""

    concurrency: int | None = None
    rate: float | None = None
    speed: float | None = None

    def label(self) -> str:
        if self.speed is not None:
            return f"trace x{self.speed:g}"
        return f"concurrency={self.concurrency}" if self.concurrency is not None else f"rate={self.rate:g}/s"


def run_points(load: LoadSpec) -> list[RunPoint]:
    if load.rate:
        return [RunPoint(rate=float(r)) for r in load.rate]
    return [RunPoint(concurrency=int(c)) for c in load.concurrency or [1]]


def arrival_plan(rate: float, count: int, load: LoadSpec, seed: int) -> ArrivalPlan:
    """The lazily generated arrival process of an open-loop run point (see :class:`ArrivalPlan`)."""
    return ArrivalPlan(rate=rate, count=count, arrival=load.arrival, burstiness=load.burstiness,
                       ramp_up_s=load.ramp_up_s, seed=seed, first_send_s=FIRST_SEND_S)


def arrival_offsets(rate: float, count: int, load: LoadSpec, rng: np.random.Generator) -> np.ndarray:
    """``count`` absolute send times (s) for an open loop at ``rate`` requests per second, all at once (for small
    counts and tests; runs read them lazily)."""
    if count <= 0:
        return np.zeros(0)
    plan = arrival_plan(rate, count, load, int(rng.integers(2**63)))
    return np.concatenate(list(plan.chunks()))


def _share(total: int, parts: int, index: int) -> int:
    """Requests ``index, index + parts, ...`` below ``total``: how many there are."""
    return len(range(index, total, parts))


def _open_loop_count(point: RunPoint, load: LoadSpec) -> int:
    assert point.rate is not None
    if load.num_requests is not None:
        count = load.num_requests + load.warmup_requests
    else:
        assert load.duration_s is not None
        count = int(min(math.ceil(point.rate * (load.duration_s + load.ramp_up_s / 2)), 2**62)) + load.warmup_requests
    return min(count, MAX_REQUESTS_PER_POINT)


def plan_slices(point: RunPoint, load: LoadSpec, workers: int, seed: int) -> list[WorkerSlice]:
    """Hand request ``i`` to worker ``i % workers``; closed-loop users are spread the same way."""
    if point.rate is not None:
        total = _open_loop_count(point, load)
        plan = arrival_plan(point.rate, total, load, seed)
        return [
            WorkerSlice(worker=w, first_id=w, stride=workers, count=_share(total, workers, w),
                        warmup_count=_share(load.warmup_requests, workers, w), intended=plan,
                        duration_s=load.duration_s)
            for w in range(workers)
        ]
    assert point.concurrency is not None
    total = (load.num_requests + load.warmup_requests) if load.num_requests is not None else MAX_REQUESTS_PER_POINT
    total = min(total, MAX_REQUESTS_PER_POINT)
    concurrency = min(point.concurrency, total)  # a user beyond the number of requests would never send one
    active = min(workers, concurrency)  # workers that get at least one user
    spacing = load.ramp_up_s / point.concurrency
    slices = []
    for w in range(workers):
        if w >= active:
            slices.append(WorkerSlice(worker=w, first_id=w, stride=active, count=0))
            continue
        slices.append(WorkerSlice(worker=w, first_id=w, stride=active, count=_share(total, active, w),
                                  warmup_count=_share(load.warmup_requests, active, w),
                                  users=_share(concurrency, active, w), user_spacing=spacing,
                                  duration_s=load.duration_s))
    return slices
