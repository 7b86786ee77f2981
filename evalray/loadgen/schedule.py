"""Run points of a sweep, open-loop arrival times and each worker's slice of a run.

Open-loop arrival times are drawn once, before the run, as absolute offsets from the common start, so a slow answer
never delays the schedule. Inter-arrival gaps are gamma-distributed with shape ``burstiness`` and mean ``1/rate``
(``burstiness = 1`` is a Poisson process; ``constant`` spaces arrivals exactly ``1/rate`` apart). The gaps are then
scaled so that ``N`` arrivals span exactly ``(N-1)/rate`` seconds (the process conditioned on its count), so the offered
rate of every run equals the target instead of wandering by ``1/sqrt(N)``. A ramp-up of ``R``
seconds makes the instantaneous rate rise linearly from 0 to ``rate``: unit-rate arrival ``tau`` (in seconds at the
full rate) maps to ``sqrt(2 tau R)`` while ``tau < R/2`` and to ``tau + R/2`` after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalray.job.perf_spec import LoadSpec
from evalray.loadgen.engine import WorkerSlice

UNBOUNDED = 2**62
FIRST_SEND_S = 0.0


@dataclass(frozen=True)
class RunPoint:
    """One point of a sweep: a closed-loop concurrency or an open-loop rate."""

    concurrency: int | None = None
    rate: float | None = None

    def label(self) -> str:
        return f"concurrency={self.concurrency}" if self.concurrency is not None else f"rate={self.rate:g}/s"


def run_points(load: LoadSpec) -> list[RunPoint]:
    if load.rate:
        return [RunPoint(rate=float(r)) for r in load.rate]
    return [RunPoint(concurrency=int(c)) for c in load.concurrency or [1]]


def arrival_offsets(rate: float, count: int, load: LoadSpec, rng: np.random.Generator) -> np.ndarray:
    """``count`` absolute send times (s) for an open loop at ``rate`` requests per second."""
    if count <= 0:
        return np.zeros(0)
    if load.arrival == "constant":
        gaps = np.full(count, 1.0 / rate)
    else:
        shape = 1.0 if load.arrival == "poisson" else load.burstiness
        gaps = rng.gamma(shape, 1.0 / (rate * shape), size=count)
        if count > 1:  # condition on the span: N arrivals take exactly (N-1)/rate seconds, as the target says
            gaps[:-1] *= (count - 1) / rate / gaps[:-1].sum()
    tau = np.concatenate([[0.0], np.cumsum(gaps[:-1])])
    ramp = load.ramp_up_s
    if ramp > 0:
        tau = np.where(tau < ramp / 2, np.sqrt(2 * tau * ramp), tau + ramp / 2)
    return tau + FIRST_SEND_S


def _share(total: int, parts: int, index: int) -> int:
    """Requests ``index, index + parts, ...`` below ``total``: how many there are."""
    return len(range(index, total, parts))


def _open_loop_count(point: RunPoint, load: LoadSpec) -> int:
    assert point.rate is not None
    if load.num_requests is not None:
        return load.num_requests + load.warmup_requests
    assert load.duration_s is not None
    return int(math.ceil(point.rate * (load.duration_s + load.ramp_up_s / 2))) + load.warmup_requests


def plan_slices(point: RunPoint, load: LoadSpec, workers: int, seed: int) -> list[WorkerSlice]:
    """Hand request ``i`` to worker ``i % workers``; closed-loop users are spread the same way."""
    if point.rate is not None:
        total = _open_loop_count(point, load)
        offsets = arrival_offsets(point.rate, total, load, np.random.default_rng(seed))
        if load.duration_s is not None:
            offsets = offsets[offsets < load.duration_s]
            total = offsets.size
        return [
            WorkerSlice(worker=w, first_id=w, stride=workers, count=_share(total, workers, w),
                        warmup_count=_share(load.warmup_requests, workers, w), intended=offsets[w::workers].copy(),
                        duration_s=load.duration_s)
            for w in range(workers)
        ]
    assert point.concurrency is not None
    concurrency = point.concurrency
    active = min(workers, concurrency)  # workers that get at least one user
    total = (load.num_requests + load.warmup_requests) if load.num_requests is not None else UNBOUNDED
    slices = []
    for w in range(workers):
        if w >= active:
            slices.append(WorkerSlice(worker=w, first_id=w, stride=active, count=0))
            continue
        user_ids = np.arange(w, concurrency, active)
        user_start = user_ids * (load.ramp_up_s / concurrency) + FIRST_SEND_S
        count = _share(total, active, w) if total != UNBOUNDED else UNBOUNDED
        slices.append(WorkerSlice(worker=w, first_id=w, stride=active, count=count,
                                  warmup_count=_share(load.warmup_requests, active, w), users=user_ids.size,
                                  user_start=user_start, duration_s=load.duration_s))
    return slices
