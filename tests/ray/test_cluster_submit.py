"""``evalray submit`` / ``evalray jobs`` against a real ``ray start --head`` (dashboard on 127.0.0.1).

The head gets its own temp dir and free ports, so it never meets another Ray on this machine; teardown ends only
the processes of that head (found by its temp dir, plus their descendants), by pid: no ``ray stop``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "configs" / "quickstart.yaml"
BIN = Path(sys.executable).parent
EVALRAY = [sys.executable, "-m", "evalray.cli.main"]






def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process we can read."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        table[int(entry.name)] = (ppid, cmdline)
    return table


def session_pids(marker: str) -> list[int]:
    """Processes whose command line names ``marker`` (our temp dir), and all their descendants."""
    table = _processes()
    found = {pid for pid, (_, cmd) in table.items() if marker in cmd and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in found} - found
        found |= children
        grew = bool(children)
    return sorted(found)


class LocalHead:
    """``ray start --head`` on 127.0.0.1 with a private temp dir and private ports."""

    def __init__(self, num_cpus: int = 2) -> None:
        self.num_cpus = num_cpus
        self._prepare()

    def _prepare(self) -> None:
        # short paths: Ray's unix sockets live in the temp dir. Ray reads the 'current cluster' file of
        # `--address auto` from $RAY_TMPDIR/ray, so the head's temp dir is <base>/ray and RAY_TMPDIR=<base> finds it.
        self.base = tempfile.mkdtemp(prefix="ers-", dir="/tmp")
        self.temp_dir = f"{self.base}/ray"
        self.home = Path(self.base) / "home"
        self.home.mkdir()
        self.dashboard_port = free_port()
        self.address = f"http://127.0.0.1:{self.dashboard_port}"
        # worker ports: Ray's own default region, away from free_port()'s 20000-32000 and the ephemeral range
        worker_base = 12000 + (os.getpid() * 7 + self.dashboard_port) % 7000
        self.env = {
            **os.environ,
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "HOME": str(self.home),  # where the cluster-side `${HOME}/evalray-submissions/...` outputs go
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        # RAY_AUTH_MODE: a ray.init() earlier in this process sets it to "token" in os.environ
        for key in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE"):
            self.env.pop(key, None)
        self.command = [
            str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(free_port()),
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.dashboard_port), "--include-dashboard", "true",
            "--temp-dir", self.temp_dir, "--num-cpus", str(self.num_cpus), "--num-gpus", "0", "--disable-usage-stats",
            "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port()),
            "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port", str(free_port()),
            "--dashboard-agent-grpc-port", str(free_port()), "--runtime-env-agent-port", str(free_port()),
            "--metrics-export-port", str(free_port()), "--min-worker-port", str(worker_base),
            "--max-worker-port", str(worker_base + 150),
        ]

    def start(self, attempts: int = 3) -> None:
        """`ray start` gives the raylet a fixed 30 s to register, which a busy machine can miss: retry afresh."""
        for attempt in range(attempts):
            try:
                self._start_once()
                return
            except RuntimeError:
                self.stop()
                if attempt == attempts - 1:
                    raise
                self._prepare()

    def _start_once(self, timeout_s: float = 180) -> None:
        done = subprocess.run(self.command, env=self.env, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed: {done.stderr[-2000:]}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:  # the Jobs API comes up a little after `ray start` returns
            try:
                with urllib.request.urlopen(f"{self.address}/api/version", timeout=5) as response:
                    if json.load(response).get("ray_version"):
                        return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"the dashboard at {self.address} did not come up")

    def stop(self) -> None:
        pids = session_pids(self.temp_dir)
        for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
                time.sleep(0.2)
            pids = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
            if not pids:
                break
        shutil.rmtree(self.base, ignore_errors=True)

    def evalray(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE")}
        return subprocess.run([*EVALRAY, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


@pytest.fixture(scope="module")
def head() -> Iterator[LocalHead]:
    cluster = LocalHead()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
    assert not session_pids(cluster.temp_dir), "Ray processes of the test head survived teardown"


def client(head: LocalHead):
    from evalray.cluster import jobs

    return jobs.connect(head.address)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_jobs_commands_on_a_trivial_entrypoint(head: LocalHead) -> None:
    from evalray.cluster import jobs

    c = client(head)
    c.submit_job(entrypoint="echo hello-from-the-cluster && sleep 600", submission_id="trivial-sleeper")
    deadline = time.monotonic() + 120
    while "hello-from-the-cluster" not in jobs.job_logs(c, "trivial-sleeper") and time.monotonic() < deadline:
        time.sleep(1)
    listed = head.evalray("jobs", "list", "--address", head.address)
    assert listed.returncode == 0 and "trivial-sleeper" in listed.stdout and "RUNNING" in listed.stdout, listed
    status = head.evalray("jobs", "status", "trivial-sleeper", "--address", head.address)
    assert "status:        RUNNING" in status.stdout, status
    logs = head.evalray("jobs", "logs", "trivial-sleeper", "--address", head.address)
    assert "hello-from-the-cluster" in logs.stdout
    stop = head.evalray("jobs", "stop", "trivial-sleeper", "--wait", "--address", head.address)
    assert stop.returncode == 0 and "trivial-sleeper STOPPED" in stop.stdout, stop
    missing = head.evalray("jobs", "status", "no-such-job", "--address", head.address)
    assert missing.returncode == 1 and missing.stderr.strip() == f"error: no job 'no-such-job' on {head.address}"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_submit_uploads_local_data_and_fails_with_the_job_status(head: LocalHead, tmp_path: Path) -> None:
    """A replay job with a local data_dir and replay file runs on the cluster; a failing job exits 1 with its status."""
    data = tmp_path / "gsm8k-local"
    data.mkdir()
    rows = [{"question": f"What is {i} + {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"} for i in range(6)]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    replay = tmp_path / "replay.jsonl"
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    samples = registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir=str(data)))
    replay.write_text("".join(json.dumps({"id": s.id, "output": f"The answer is {s.target}."}) + "\n" for s in samples))
    job = tmp_path / "replayjob.yaml"
    job.write_text(
        "name: replayjob\nmodels:\n  - {name: oracle, backend: replay, source: %s, resources: {num_cpus: 0.25}}\n"
        "benchmarks:\n  - {name: gsm8k, data_dir: %s, few_shot: 0}\noutput: runs/${name}\n"
        "runtime_env: {env_vars: {EVALRAY_SUBMIT_TEST: 'yes'}}\n" % (replay, data))
    download = tmp_path / "download"
    done = head.evalray("submit", str(job), "--address", head.address, "--wait", "--download", str(download))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "submitted: evalray-replayjob-" in done.stdout and f"dashboard: {head.address}/#/jobs/" in done.stdout
    assert "uploaded:  %s -> data/0-gsm8k-local" % data in done.stdout
    assert " INFO " not in done.stderr, done.stderr
    result = json.loads((download / "result.json").read_text())
    assert result["status"] == "completed"
    [score] = [s for s in result["scores"] if s["metric"] == "exact_match"][:1] or [None]
    assert score is not None and score["value"] == 1.0 and score["n"] == len(samples)
    import pandas as pd

    submitted_nodes = set(pd.read_parquet(download / "samples" / "oracle" / "gsm8k.parquet")["node_id"])
    # `evalray run --address auto` on the head machine joins the running cluster (RAY_TMPDIR: find *this* head)
    local_env = {**head.env, "RAY_TMPDIR": head.base}  # same HOME as the head: same Ray auth token (none)
    auto = subprocess.run([*EVALRAY, "run", str(job), "--address", "auto", "--quiet", "--output", str(tmp_path / "auto")],
                          capture_output=True, text=True, timeout=600, env=local_env, cwd=REPO)
    assert auto.returncode == 0, auto.stderr[-3000:]
    auto_nodes = set(pd.read_parquet(tmp_path / "auto" / "samples" / "oracle" / "gsm8k.parquet")["node_id"])
    assert auto_nodes == submitted_nodes and len(auto_nodes) == 1, (auto_nodes, submitted_nodes)
    # `--address 127.0.0.1:PORT` from a shell without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER: Ray would rewrite the
    # loopback address to the machine's and wait for ever; evalray keeps it on 127.0.0.1
    gcs = f"127.0.0.1:{head.command[head.command.index('--port') + 1]}"
    plain_env = {k: v for k, v in local_env.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    direct = subprocess.run([*EVALRAY, "run", str(job), "--address", gcs, "--quiet", "--output", str(tmp_path / "gcs")],
                            capture_output=True, text=True, timeout=300, env=plain_env, cwd=REPO)
    assert direct.returncode == 0, direct.stderr[-3000:]
    assert set(pd.read_parquet(tmp_path / "gcs" / "samples" / "oracle" / "gsm8k.parquet")["node_id"]) == auto_nodes
    bad = head.evalray("submit", str(job), "--address", head.address, "--wait", "-S", "models.0.source=missing.jsonl")
    assert bad.returncode == 2 and "missing.jsonl does not exist" in bad.stderr  # caught locally, before any upload
    failing = head.evalray("submit", str(job), "--address", head.address, "--wait", "--no-package",
                           "-S", "models.0.backend=openai", "-S", "models.0.source=http://127.0.0.1:9/v1")
    assert failing.returncode == 1, failing.stdout[-2000:] + failing.stderr[-2000:]
    assert failing.stderr.strip().splitlines()[-1].startswith("error: job evalray-replayjob-"), failing.stderr
    assert " FAILED: " in failing.stderr and "cannot reach http://127.0.0.1:9/v1" in failing.stderr
    assert len(failing.stderr.strip().splitlines()) == 1, failing.stderr


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_submit_quickstart_matches_a_local_run(head: LocalHead, tmp_path: Path) -> None:
    download = tmp_path / "download"
    done = head.evalray("submit", str(QUICKSTART), "--address", head.address, "--wait", "--download", str(download))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "job evalray-quickstart-" in done.stdout and "SUCCEEDED" in done.stdout
    remote = json.loads((download / "result.json").read_text())
    assert remote["status"] == "completed"
    assert (download / "samples" / "tiny" / "gsm8k.parquet").is_file()
    listed = head.evalray("jobs", "list", "--address", head.address)
    submission_id = done.stdout.split("submitted: ", 1)[1].split()[0]
    assert f"{submission_id}" in listed.stdout and "evalray-fetch-" not in listed.stdout, listed.stdout
    assert "evalray-fetch-" in head.evalray("jobs", "list", "--all", "--address", head.address).stdout
    again = head.evalray("jobs", "download", submission_id, str(tmp_path / "again"), "--address", head.address)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "again" / "result.json").read_text()) == remote

    local_out = tmp_path / "local"
    ray_tmp = tempfile.mkdtemp(prefix="erl-", dir="/tmp")  # the embedded Ray of the local run: its own temp dir
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_MODE")}
    env.update(RAY_TMPDIR=ray_tmp, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    try:
        local = subprocess.run([*EVALRAY, "run", str(QUICKSTART), "--output", str(local_out), "--quiet"], env=env,
                               capture_output=True, text=True, timeout=900, cwd=REPO)
    finally:
        for pid in session_pids(ray_tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert local.returncode == 0, local.stderr[-3000:]
    here = json.loads((local_out / "result.json").read_text())

    def table(result: dict) -> dict:
        return {(s["model"], s["benchmark"], s.get("subset"), s["metric"]): (round(s["value"], 9), s["n"])
                for s in result["scores"]}

    assert table(remote) and table(remote) == table(here)
