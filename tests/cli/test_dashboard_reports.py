"""``evalray report`` on a real perf run (``evalray perf --local`` against ``evalray mock-server``) rewrites the
run's report.html byte for byte, with the perf views: CDFs, over time, sweep, errors, SLO verdicts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request

from tests.conftest import ROOT, free_port, run_cli


def test_perf_report_is_regenerated_byte_identical(tmp_path):
    port = free_port()
    mock = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "mock-server", "--port", str(port),
                             "--ttft-ms", "5", "--error-rate", "0.1", "--seed", "3"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=5).close()
                break
            except OSError:
                assert time.time() < deadline, "mock server did not start"
                time.sleep(0.3)
        done = run_cli("perf", "--url", f"http://127.0.0.1:{port}/v1", "--model", "mock", "-c", "2,4", "-n", "60",
                       "--max-tokens", "8", "--local", "--no-progress", "--slo", "ttft_p99=200ms",
                       "-o", str(tmp_path / "perf"))
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        mock.terminate()
        mock.wait(timeout=20)
    run = tmp_path / "copy"
    shutil.copytree(tmp_path / "perf", run)
    before = (run / "report.html").read_bytes()
    done = run_cli("report", str(run))
    assert done.returncode == 0, done.stderr
    assert (run / "report.html").read_bytes() == before
    for div in ("perf-ttft-cdf", "perf-tpot-cdf", "perf-itl-cdf", "perf-e2e-cdf", "perf-throughput", "perf-latency",
                "perf-sweep", "perf-errors-chart", "perf-slo"):
        assert f'id="{div}"'.encode() in before, div
    assert b"c=2" in (run / "report.md").read_bytes() and b"c=4" in (run / "report.md").read_bytes()
