"""``evalray perf`` and ``evalray mock-server`` in a subprocess, and perf runs (in-process worker) against the mock
server in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from evalray.job.perf_spec import PerfJobSpec
from evalray.testing.process import mock_server_process

STAT_KEYS = {"mean", "std", "min", "p50", "p90", "p95", "p99", "p99.9", "max"}


def evalray(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalray.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def mock_url():
    with mock_server_process("--ttft-ms", "2", "--tpot-ms", "1") as url:
        yield url


def test_perf_sweep_writes_the_contract(mock_url, tmp_path):
    out = tmp_path / "run"
    done = evalray("perf", "--url", mock_url, "--model", "mock", "--concurrency", "2,4", "--num-requests", "30",
                   "--max-tokens", "4", "--input-tokens", "16", "--local", "--output", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "c=2" in done.stdout and "c=4" in done.stdout  # the console table
    perf = json.loads((out / "perf.json").read_text())
    assert perf["schema_version"] == 1 and perf["kind"] == "perf"
    assert perf["target"]["url"] == mock_url and perf["target"]["model"] == "mock"
    assert [r["concurrency"] for r in perf["runs"]] == [2, 4]
    for run in perf["runs"]:
        assert run["rate"] is None and run["workers"] == 1 and run["requests"] == 30 and run["ok"] == 30
        assert run["errors"] == {} and run["goodput"] is None and run["duration_s"] > 0
        assert run["output_token_throughput"] == pytest.approx(run["request_throughput"] * 4, rel=1e-3)
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "queue_ms"):
            assert set(run[key]) == STAT_KEYS
    records = pq.read_table(out / "records.parquet")
    assert records.num_rows == 60 and set(records["run"].to_pylist()) == {0, 1}
    assert (out / "report.html").stat().st_size > 10_000


def test_open_loop_with_slo_and_api_key(mock_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PERF_TEST_KEY", "sk-test")
    out = tmp_path / "open"
    done = evalray("perf", "--url", mock_url + "/completions", "--model", "mock", "--rate", "40",
                   "--arrival", "constant", "--num-requests", "40", "--warmup", "5", "--max-tokens", "3",
                   "--api-key-env", "PERF_TEST_KEY", "-H", "X-Test: 1", "--slo", "ttft_p99=2s,e2e_p50=5s",
                   "--local", "--no-html", "--no-progress", "-o", str(out))
    assert done.returncode == 0, done.stderr
    perf = json.loads((out / "perf.json").read_text())
    run = perf["runs"][0]
    assert run["rate"] == 40 and run["requests"] == 40 and run["warmup_requests"] == 5
    assert run["goodput"] > 0 and run["slo"]["met"] is True
    assert "sk-test" not in (out / "perf.json").read_text()


def test_bad_flags_are_one_line_errors(tmp_path):
    both = evalray("perf", "--url", "http://127.0.0.1:1/v1", "--model", "m", "-c", "2", "-r", "5", "--local",
                   "-o", str(tmp_path))
    assert both.returncode == 2 and both.stderr.startswith("error: ") and "Traceback" not in both.stderr
    slo = evalray("perf", "--url", "http://127.0.0.1:1/v1", "--model", "m", "--slo", "speed=1", "--local")
    assert slo.returncode == 2 and "--slo" in slo.stderr
    key = evalray("perf", "--url", "http://127.0.0.1:1/v1", "--model", "m", "--api-key-env", "NO_SUCH_VAR_X",
                  "--local", "-o", str(tmp_path))
    assert key.returncode == 2 and "NO_SUCH_VAR_X" in key.stderr


def test_mock_server_rejects_bad_rates():
    done = evalray("mock-server", "--error-rate", "0.8", "--timeout-rate", "0.5", timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: ")


def _spec(tmp_path, url: str, **load) -> PerfJobSpec:
    return PerfJobSpec.model_validate({
        "output": str(tmp_path / "out"), "target": {"url": url, "model": "mock"},
        "prompts": {"max_tokens": 4, "input_tokens": 8}, "load": load,
        "fleet": {"local": True}, "html": False, "progress": False})


def test_queueing_delay_is_reported_when_the_server_falls_behind(tmp_path):
    from evalray.loadgen.runner import run_perf_job

    # two connections and 35 ms answers serve about 57 req/s: at 100 req/s requests wait for a connection
    with mock_server_process("--ttft-ms", "20", "--tpot-ms", "5") as url:
        spec = _spec(tmp_path, url, rate=[100], arrival="constant", num_requests=80, max_connections=2)
        run = json.loads((run_perf_job(spec, None) / "perf.json").read_text())["runs"][0]
    assert run["ok"] == 80
    assert run["queue_ms"]["p99"] > 100 and run["queue_ms"]["max"] > run["queue_ms"]["p50"]
    assert run["request_throughput"] < 70


def test_slo_search_finds_the_knee(tmp_path):
    from evalray.loadgen.runner import run_perf_job

    with mock_server_process("--ttft-ms", "20", "--tpot-ms", "5") as url:
        # one connection and 35 ms answers serve about 28 req/s; above that the queue grows without bound
        spec = _spec(tmp_path, url, num_requests=40, max_connections=1, arrival="constant")
        spec = spec.model_copy(update={"slo": {"queue_p99": "150ms"}})
        spec = PerfJobSpec.model_validate(spec.model_dump() | {"search": {"min_rate": 10, "max_rate": 160,
                                                                           "steps": 2}})
        perf = json.loads((run_perf_job(spec, None) / "perf.json").read_text())
    search = perf["search"]
    assert search["best_rate"] is not None and 15 <= search["best_rate"] < search["first_failing_rate"] <= 80
    assert search["probes"] == len(perf["runs"]) >= 4
    verdicts = {r["rate"]: r["slo"]["met"] for r in perf["runs"]}
    assert verdicts[search["best_rate"]] is True and verdicts[search["first_failing_rate"]] is False


def test_ctrl_c_stops_cleanly_with_partial_results(tmp_path):
    import signal
    import time

    out = tmp_path / "interrupted"
    with mock_server_process("--ttft-ms", "100") as url:
        process = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock",
                                    "-c", "4", "-n", "100000", "--max-tokens", "2", "--local", "--no-html",
                                    "--no-progress", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out / "perf.json").exists():
            time.sleep(1.0)
            if time.monotonic() > deadline - 55:  # about 5 s of load
                process.send_signal(signal.SIGINT)
                break
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    perf = json.loads((out / "perf.json").read_text())
    run = perf["runs"][0]
    assert perf["interrupted"] is True and run["interrupted"] is True
    assert 0 < run["ok"] < 100000 and run["errors"] == {}  # cancelled requests are not errors
    assert pq.read_table(out / "records.parquet").num_rows >= run["requests"]
