"""Bounded load: ``evalray perf`` memory and time follow the requests issued, not the nominal concurrency or
rate x duration; the duration is finite; the timeout covers connecting; perf.json is strict JSON.

The CLI runs in a subprocess under ``RLIMIT_AS`` (4 GiB of address space) against ``evalray mock-server`` on
127.0.0.1; before the fix ``-c 100000000 -n 10`` allocated one timer per user and ``-r 1e9 --duration 10`` asked for
74.5 GiB of arrival times.
"""

from __future__ import annotations

import json
import math
import resource
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from evalray.job.perf_spec import MAX_REQUESTS_PER_POINT, LoadSpec
from evalray.loadgen.arrivals import CHUNK, ArrivalCursor, ArrivalPlan
from evalray.loadgen.output import strict_json
from evalray.loadgen.schedule import plan_slices, run_points
from evalray.testing.process import mock_server_process

ADDRESS_SPACE = 4 * 1024**3


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def perf(*args: str, timeout: float = 120, limit: bool = True) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--local", "--no-progress", "--no-html",
                           *args], capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_limit_memory if limit else None)
    return done, time.monotonic() - started


@pytest.fixture(scope="module")
def mock_url():
    with mock_server_process("--ttft-ms", "1") as url:
        yield url


def test_a_hundred_million_users_and_ten_requests(mock_url, tmp_path):
    done, took = perf("--url", mock_url, "--model", "mock", "-c", "100000000", "-n", "10", "--max-tokens", "2",
                      "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((tmp_path / "perf.json").read_text())["runs"][0]
    assert run["requests"] == 10 and run["ok"] == 10 and run["connections_opened"] == 10
    assert took < 30


def test_a_billion_per_second_for_ten_seconds(mock_url, tmp_path):
    done, took = perf("--url", mock_url, "--model", "mock", "-r", "1000000000", "--duration", "10",
                      "--max-tokens", "2", "--max-connections", "64", "--timeout", "5", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"capped at {MAX_REQUESTS_PER_POINT:,} requests" in done.stderr
    run = json.loads((tmp_path / "perf.json").read_text())["runs"][0]
    # 64 connections and a backlog of 65536: everything else was dropped, counted, never queued
    assert 0 < run["requests"] <= 64 + 65_536
    assert run["requests"] + run["dropped_requests"] == MAX_REQUESTS_PER_POINT
    assert took < 60


@pytest.mark.parametrize("flag,value", [("--duration", "inf"), ("--duration", "nan"), ("--duration", "1e9"),
                                        ("--rate", "inf"), ("--timeout", "inf"), ("--num-requests", "100000000")])
def test_unbounded_values_are_refused_in_one_line(flag, value, tmp_path):
    args = ["--url", "http://127.0.0.1:9/v1", "--model", "m", flag, value, "-o", str(tmp_path)]
    if flag != "--rate":
        args += ["-r", "5"]
    done, took = perf(*args, limit=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "perf.json").exists() and took < 30


def _unaccepting_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A 127.0.0.1 socket that listens with a full accept queue: further connects get no SYN-ACK and hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(8):  # the kernel queues backlog + 1 connections; then SYNs are dropped
        client = socket.socket()
        client.setblocking(False)
        try:
            client.connect(server.getsockname())
        except BlockingIOError:
            pass
        fillers.append(client)
    time.sleep(0.2)
    probe = socket.socket()
    probe.settimeout(0.5)
    with pytest.raises(OSError):  # the trick works on this kernel: a connect now hangs
        probe.connect(server.getsockname())
    probe.close()
    return server, fillers


def test_connect_timeouts_are_enforced(tmp_path):
    server, fillers = _unaccepting_listener()
    try:
        port = server.getsockname()[1]
        done, took = perf("--url", f"http://127.0.0.1:{port}/v1", "--model", "m", "-c", "3", "-n", "3",
                          "--timeout", "3", "-o", str(tmp_path), timeout=60)
    finally:
        for sock in (server, *fillers):
            sock.close()
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((tmp_path / "perf.json").read_text())["runs"][0]
    assert run["requests"] == 3 and run["ok"] == 0 and run["errors"] == {"connect_timeout": 3}
    assert 3 <= took < 15  # one 3 s timeout (the three connect at once) plus the start-up of the CLI (~4 s)


def test_perf_json_is_strict_json():
    document = {"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": {"d": np.float64("nan")},
                "e": np.int64(3)}
    text = json.dumps(strict_json(document), allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": {"d": None}, "e": 3}


@pytest.mark.parametrize("arrival,burstiness", [("poisson", 1.0), ("gamma", 0.3), ("constant", 1.0)])
def test_lazy_arrivals_span_exactly_and_split_between_workers(arrival, burstiness):
    count, rate = 3 * CHUNK + 17, 1000.0
    plan = ArrivalPlan(rate=rate, count=count, arrival=arrival, burstiness=burstiness, seed=3)
    whole = np.concatenate(list(plan.chunks()))
    assert whole.size == count and whole[0] == 0 and np.all(np.diff(whole) >= 0)
    assert whole[-1] == pytest.approx((count - 1) / rate, rel=1e-12)
    gaps = np.diff(whole) * rate
    assert np.mean(gaps) == pytest.approx(1.0, rel=1e-9)
    if arrival != "constant":  # gamma gaps: coefficient of variation 1/sqrt(shape)
        assert np.std(gaps) == pytest.approx(1 / math.sqrt(burstiness), rel=0.05)
    for workers in (1, 3):
        for w in range(workers):
            cursor, got = ArrivalCursor(plan, first=w, stride=workers), []
            while (value := cursor.peek()) is not None:
                got.append(value)
                cursor.advance()
            assert np.array_equal(np.array(got), whole[w::workers])


def test_skipping_and_the_duration_bound_read_lazily():
    plan = ArrivalPlan(rate=1e9, count=MAX_REQUESTS_PER_POINT, seed=1)
    cursor = ArrivalCursor(plan, until=0.004)
    skipped = cursor.skip_until(0.002)
    assert skipped == pytest.approx(2_000_000, rel=0.01) and cursor.peek() > 0.002
    skipped += cursor.skip_until(1.0)
    assert cursor.peek() is None and skipped == pytest.approx(4_000_000, rel=0.01)


def test_closed_loop_users_never_outnumber_requests():
    load = LoadSpec(concurrency=[100_000_000], num_requests=10)
    slices = plan_slices(run_points(load)[0], load, 4, seed=0)
    assert sum(s.users for s in slices) == 10 and sum(s.count for s in slices) == 10
    unbounded = LoadSpec(concurrency=[8], duration_s=5)
    assert sum(s.count for s in plan_slices(run_points(unbounded)[0], unbounded, 2, 0)) == MAX_REQUESTS_PER_POINT
