"""The sandbox runs programs as Ray tasks."""

from __future__ import annotations

import pytest

from evalray.scoring.sandbox import Limits, run_programs

ray = pytest.importorskip("ray")


def test_run_programs_as_ray_tasks():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = run_programs(["print(1)", "raise SystemExit(3)", "while True: pass"], Limits(timeout_s=3, cpu_s=3),
                               use_ray=True, num_cpus=0.5)
        assert [r.status for r in results] == ["passed", "failed", "timeout"]
        assert results[0].stdout.strip() == "1"
    finally:
        if started:
            ray.shutdown()
