"""Shared fixtures: paths to ../shared/data, a session Ray cluster on 127.0.0.1, helpers to run the CLI."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on 127.0.0.1 in tests
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB of KV cache for the CPU build of vLLM in tests


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port for a test server, never the same twice in this process. It comes from 20000-32000: above the
    worker ports Ray takes by default (10002-19999) and below the kernel's ephemeral range (32768+), so no client
    socket or Ray worker can grab it between this check and the server's bind."""
    import random
    import socket

    while True:
        port = random.randrange(20000, 32000)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


def hf_twin(spec, **update):
    """The hf spec of the same model as ``spec`` (a serve or vllm spec): the options an hf model has, for comparing a
    hosted model with ``backend: hf``."""
    from evalray.job.spec import HFModelSpec

    fields = {k: v for k, v in spec.model_dump().items() if k in HFModelSpec.model_fields}
    return HFModelSpec(**{**fields, "backend": "hf", **update})


def shared_data(name: str) -> Path:
    """The folder of a benchmark in ../shared/data, or skip the test with a reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data not available: {path} is absent (it sits beside the repo as ../shared/data)")
    return path


def start_local_ray():
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=4, include_dashboard=False, logging_level="WARNING")
    return ray


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the tests that need it (fractional-CPU actors keep 2 cores from starving)."""
    yield start_local_ray()
    import ray

    ray.shutdown()


@contextlib.contextmanager
def without_session_ray():
    """For tests that bring their own Ray (a multi-node test cluster): the session's local Ray is shut down first
    and started again afterwards, so later tests still find it."""
    import ray

    had_ray = ray.is_initialized()
    if had_ray:
        ray.shutdown()
    try:
        yield
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if had_ray:
            start_local_ray()


def run_cli(*args: str, timeout: float = 300, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``evalray ARGS`` in a subprocess, capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "evalray.cli.main", *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})}, cwd=cwd or ROOT,
    )
