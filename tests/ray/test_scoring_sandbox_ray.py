"""The sandbox runs programs as Ray tasks, and programs cannot reach the Ray session (its raylet and object-store
sockets, its temp dir) from inside the sandbox, whether run by the driver or by a Ray worker."""

from __future__ import annotations

import os
import socket

import pytest

from evalray.scoring.sandbox import Limits, run_program, run_programs

ray = pytest.importorskip("ray")

LIMITS = Limits(timeout_s=10, cpu_s=10, require="best_effort")


@pytest.fixture(scope="module")
def session():
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def test_run_programs_as_ray_tasks(session):
    results = run_programs(["print(1)", "raise SystemExit(3)", "while True: pass"], Limits(timeout_s=3, cpu_s=3),
                           use_ray=True, num_cpus=0.5)
    assert [r.status for r in results] == ["passed", "failed", "timeout"]
    assert results[0].stdout.strip() == "1"


def _ray_sockets() -> list[str]:
    node = ray._private.worker.global_worker.node
    paths = [node.raylet_socket_name, node.plasma_store_socket_name]
    return [p for p in paths if p and os.path.exists(p)]


def _connect_program(path: str) -> str:
    return f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({path!r})\nprint('connected')"


def test_ray_session_sockets_are_unreachable_from_the_sandbox(session):
    paths = _ray_sockets()
    assert paths, "the Ray session has no socket files to test"
    for path in paths:  # reachable from outside the sandbox
        with socket.socket(socket.AF_UNIX) as probe:
            probe.connect(path)
    programs = [_connect_program(p) for p in paths]
    direct = [run_program(p, LIMITS) for p in programs]
    in_workers = run_programs(programs, LIMITS, use_ray=True, num_cpus=0.25)
    for result in [*direct, *in_workers]:
        assert result.status == "failed" and "connected" not in result.stdout, result


def test_ray_temp_dir_is_not_visible(session):
    temp = ray._private.worker.global_worker.node.get_temp_dir_path()
    assert os.listdir(temp)
    program = f"import os\nprint(os.path.exists({temp!r}) and os.listdir({temp!r}))"
    for result in [run_program(program, LIMITS), *run_programs([program], LIMITS, use_ray=True, num_cpus=0.25)]:
        assert result.passed and result.stdout.strip() in ("False", "[]"), result


def test_a_bad_require_setting_is_refused_in_one_line_before_any_task(session, monkeypatch):
    monkeypatch.setenv("EVALRAY_SANDBOX_REQUIRE", "no-such-mode")
    from evalray.scoring.sandbox import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="strict' or 'best_effort"):
        run_programs(["pass"], Limits(timeout_s=5), use_ray=True, num_cpus=0.25)
