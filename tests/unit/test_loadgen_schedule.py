"""Open-loop arrival times: fixed in advance, absolute, at the target rate; ramp-up; sweep points; the slices of
the workers partition the requests."""

from __future__ import annotations

import numpy as np
import pytest

from evalray.job.perf_spec import LoadSpec, PerfJobSpec
from evalray.loadgen.schedule import arrival_offsets, plan_slices, run_points


def offsets(rate: float, count: int, **load) -> np.ndarray:
    return arrival_offsets(rate, count, LoadSpec(rate=[rate], **load), np.random.default_rng(7))


@pytest.mark.parametrize("arrival,burstiness", [("poisson", 1.0), ("gamma", 0.5), ("gamma", 4.0), ("constant", 1.0)])
def test_offered_rate_is_exactly_the_target(arrival, burstiness):
    times = offsets(200.0, 1001, arrival=arrival, burstiness=burstiness)
    assert times[0] == 0 and np.all(np.diff(times) >= 0)
    assert (times.size - 1) / (times[-1] - times[0]) == pytest.approx(200.0, rel=1e-9)


def test_burstiness_shapes_the_gaps():
    cv = {b: np.std(np.diff(offsets(100.0, 5000, arrival="gamma", burstiness=b))) * 100 for b in (0.25, 1.0, 4.0)}
    assert cv[0.25] > 1.6 > cv[1.0] > 0.8 > 0.6 > cv[4.0]  # coefficient of variation ~ 1/sqrt(shape)
    assert np.allclose(np.diff(offsets(100.0, 50, arrival="constant")), 0.01)


def test_ramp_up_rises_linearly_then_holds_the_rate():
    times = offsets(100.0, 3001, arrival="constant", ramp_up_s=10.0)
    first_half = np.sum(times < 5.0)
    assert first_half == pytest.approx(0.5 * 100 * 25 / 10, rel=0.02)  # integral of 100*t/10 over [0, 5]
    after = times[times > 12.0]
    assert np.allclose(np.diff(after), 0.01)


def test_sweep_points_keep_their_order():
    assert [p.rate for p in run_points(LoadSpec(rate=[50, 10, 100]))] == [50.0, 10.0, 100.0]
    assert [p.concurrency for p in run_points(LoadSpec(concurrency=[4, 1]))] == [4, 1]
    assert run_points(LoadSpec())[0].concurrency == 1 and LoadSpec().num_requests == 100


def test_slices_partition_the_requests():
    spec = PerfJobSpec.model_validate({"target": {"url": "http://127.0.0.1:1/v1", "model": "m"},
                                       "load": {"rate": [100], "num_requests": 101, "warmup_requests": 7}})
    slices = plan_slices(run_points(spec.load)[0], spec.load, 4, seed=0)
    ids = sorted(s.first_id + k * s.stride for s in slices for k in range(s.count))
    assert ids == list(range(108)) and sum(s.warmup_count for s in slices) == 7
    closed = PerfJobSpec.model_validate({"target": {"url": "http://127.0.0.1:1/v1", "model": "m"},
                                         "load": {"concurrency": [3], "num_requests": 10}})
    slices = plan_slices(run_points(closed.load)[0], closed.load, 4, seed=0)
    assert sum(s.users for s in slices) == 3 and sum(s.count for s in slices) == 10
