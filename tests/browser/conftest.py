"""Browser end-to-end fixtures: a directory with a real quickstart run, a replay run of two models on the same
benchmark and a perf run against ``evalray mock-server`` (built once per session), an
``evalray dashboard`` process over it, and headless Debian Chromium driven by Playwright.

Skips with a reason when Playwright or Chromium is absent (``.ci/run`` installs both)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
BUILD_TIMEOUT_S = 600


def chromium_path() -> str | None:
    for candidate in (os.environ.get("EVALRAY_CHROMIUM"), *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "evalray.cli.main", *args]


def _wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited: {process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _replay_job(root: Path, work: Path) -> Path:
    """Two replay models on the quickstart's 50 GSM8K items: alpha wrong on every 4th, beta on every 5th."""
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    samples = registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir="builtin:quickstart/gsm8k"))
    for name, every in (("alpha", 4), ("beta", 5)):
        with open(work / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for i, sample in enumerate(samples):
                answer = f"{sample.target}1" if i % every == 0 else sample.target
                f.write(json.dumps({"id": sample.id, "output": f"Let me think.\nANSWER: {answer}"}) + "\n")
    job = work / "replay.yaml"
    job.write_text(json.dumps({
        "name": "replay-pair", "output": str(root / "replay-pair"),
        "models": [{"name": n, "backend": "replay", "source": str(work / f"{n}.jsonl"), "resources": {"num_cpus": 0.25}}
                   for n in ("alpha", "beta")],
        "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k"}],
    }))
    return job


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory, ray_session) -> Path:
    """The eval runs go through the real runner on the session's Ray (no Ray start-up of their own), the perf run
    (``--local``: no Ray) in a subprocess at the same time."""
    from evalray.job.loader import build_job, load_job
    from evalray.pipeline.runner import run_job

    root = tmp_path_factory.mktemp("dashboard-runs")
    work = tmp_path_factory.mktemp("dashboard-work")
    mock_port = free_port()
    mock = subprocess.Popen(_cli("mock-server", "--port", str(mock_port), "--ttft-ms", "20", "--tpot-ms", "2",
                                 "--error-rate", "0.05", "--seed", "1"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    perf = None
    try:
        _wait_http(f"http://127.0.0.1:{mock_port}/v1/models", mock)
        perf = subprocess.Popen(_cli("perf", "--url", f"http://127.0.0.1:{mock_port}/v1", "--model", "mock", "-c",
                                     "2,8", "-n", "150", "--max-tokens", "16", "--local", "--no-progress", "--slo",
                                     "ttft_p99=500ms,tpot_p99=1ms", "--name", "perf-mock", "-o", str(root / "perf-mock")),
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        quickstart = run_job(load_job(ROOT / "configs" / "quickstart.yaml", [f"output={root / 'quickstart'}"]),
                             progress=False)
        assert quickstart.result["status"] == "completed", quickstart.result.get("error")
        replay = run_job(build_job(json.loads(_replay_job(root, work).read_text())), progress=False)
        assert replay.result["status"] == "completed", replay.result.get("error")
        output, _ = perf.communicate(timeout=BUILD_TIMEOUT_S)
        assert perf.returncode == 0, output
    finally:
        for process in (perf, mock):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    return root


@pytest.fixture(scope="package")
def dashboard_url(runs_root):
    port = free_port()
    process = subprocess.Popen(_cli("dashboard", "--runs", str(runs_root), "--port", str(port)), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/api/runs", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="package")  # not the session: Playwright's sync API keeps an asyncio loop running in the main
def browser():                     # thread while it is open, and later tests' asyncio.run() would refuse to start
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser, dashboard_url):
    context = browser.new_context(viewport={"width": 1300, "height": 900}, base_url=dashboard_url)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
