"""``evalray submit``, ``evalray jobs`` and ``evalray kuberay`` in a subprocess, without a cluster: one-line errors
and exit codes, the download entrypoint run by a shell, and a rendered RayJob that validates."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from evalray.cluster import jobs, submit
from evalray.cluster.validate import validate_text
from evalray.errors import EvalrayError
from tests.conftest import free_port
from tests.unit.test_cluster_render import GPU_JOB, _groups

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / ".." / "shared" / "kuberay" / "crds"
MANIFESTS = sorted((REPO / "cluster").glob("*.yaml"))
needs_crds = pytest.mark.skipif(not (CRDS / "ray.io_rayjobs.yaml").is_file(), reason=f"KubeRay CRDs not found at {CRDS}")


def test_unreachable_address_fails_in_one_line_within_seconds() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "submit", str(REPO / "configs" / "quickstart.yaml"),
                           "--address", address, "--wait"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"error: cannot reach the Ray dashboard at {address}"), done.stderr
    assert time.monotonic() - started < 30  # interpreter start included; the probe itself is < 5 s
    with pytest.raises(EvalrayError):
        started = time.monotonic()
        jobs.probe(address)
    assert time.monotonic() - started < 1


def test_bad_job_is_exit_2_like_validate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodels: [{name: m, source: builtin:tiny-llama, replicas: 0}]\nbenchmarks: [{name: gsm8k}]\n")
    outs = [subprocess.run([sys.executable, "-m", "evalray.cli.main", cmd, str(bad)], capture_output=True, text=True,
                           timeout=60) for cmd in ("submit", "validate")]
    assert [o.returncode for o in outs] == [2, 2]
    assert outs[0].stderr == outs[1].stderr and outs[0].stderr.startswith("error: ")


def test_fetch_script_round_trip(tmp_path: Path) -> None:
    """The download job's entrypoint, run by a shell with HOME set, prints an archive extract_archive restores."""
    results = tmp_path / "home" / "evalray-submissions" / "s1" / "runs" / "x"
    (results / "samples" / "m").mkdir(parents=True)
    (results / "result.json").write_text('{"status": "completed"}')
    (results / "samples" / "m" / "b.parquet").write_bytes(os.urandom(50_000))
    command = submit.fetch_entrypoint("${HOME:-/tmp}/evalray-submissions/s1/runs/x").replace("python ", f"{sys.executable} ", 1)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "download"
    submit.extract_archive("some log line\n" + done.stdout + "trailing\n", target)
    assert (target / "result.json").read_text() == '{"status": "completed"}'
    assert (target / "samples/m/b.parquet").read_bytes() == (results / "samples/m/b.parquet").read_bytes()
    missing = subprocess.run(submit.fetch_entrypoint("/nonexistent/x").replace("python ", f"{sys.executable} ", 1),
                             shell=True, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 3 and submit.MISSING in missing.stdout


def test_jobs_commands_fail_in_one_line_without_a_cluster() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "jobs", "list", "--address", address],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"error: cannot reach the Ray dashboard at {address}")


@needs_crds
def test_cli_render_prints_a_valid_rayjob(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(GPU_JOB)
    cmd = [sys.executable, "-m", "evalray.cli.main", "kuberay", "render", str(job), "--gpus-per-worker", "2",
           "--image", "registry.example/evalray:dev", "--crds", str(CRDS), "-S", "models.0.replicas=4"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert validate_text(done.stdout, "cli", CRDS) == []
    objects = list(yaml.safe_load_all(done.stdout))
    [group] = _groups(objects)
    assert group["replicas"] == 2
    assert group["template"]["spec"]["containers"][0]["image"] == "registry.example/evalray:dev"
    bad = subprocess.run(cmd + ["-S", "models.0.replicas=0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


@needs_crds
def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "cluster" / "rayjob-gpu-eval.yaml").read_text().replace("entrypoint:", "entrypont:"))
    cmd = [sys.executable, "-m", "evalray.cli.main", "kuberay", "validate", "--crds", str(CRDS)]
    plain = [p for p in MANIFESTS if "rayservice" not in p.name]  # the RayService check imports vLLM: slow
    good = subprocess.run(cmd + [str(p) for p in plain], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert good.stdout.count("ok: ") == len(plain)
    broken = subprocess.run(cmd + [str(bad)], capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert "spec.entrypont: unknown field 'entrypont' (did you mean 'entrypoint'?)" in broken.stderr
    assert broken.stderr.strip().splitlines()[-1] == "error: 1 of 1 manifest file(s) invalid"
