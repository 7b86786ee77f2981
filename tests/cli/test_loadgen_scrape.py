"""Server-side metrics against `evalray mock-server` (its GET /metrics derives vLLM-named metrics from what it does):
the scraped running requests peak between 1 and the concurrency, every answered request shows in
vllm:request_success, the prefix-cache hit rate is > 0 on a shared_prefix workload and 0 on unique prompts, and a
dead metrics endpoint is counted, never failing the run."""

from __future__ import annotations

import json
import subprocess
import sys

from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.runner import run_perf_job
from evalray.testing.process import mock_server_process


def _run(url: str, out, **job) -> dict:
    spec = PerfJobSpec.model_validate({"target": {"url": url, "model": "mock"}, "fleet": {"local": True},
                                       "output": str(out), "progress": False,
                                       "server_metrics": {"interval_s": 0.1}, **job})
    return json.loads((run_perf_job(spec, None) / "perf.json").read_text())["runs"][0]


def test_scraped_metrics_match_what_the_mock_did(tmp_path):
    with mock_server_process("--tpot-ms", "40") as url:  # 5 tokens: 160 ms a request, about a second a point
        shared = _run(url, tmp_path / "shared", load={"concurrency": [4], "num_requests": 24},
                      workload={"type": "shared_prefix", "groups": 2, "prefix_tokens": 48, "suffix_tokens": 8,
                                "output_tokens": 5})
        unique = _run(url, tmp_path / "unique", load={"concurrency": [3], "num_requests": 18},
                      prompts={"input_tokens": 40, "max_tokens": 5})
    for run, concurrency in ((shared, 4), (unique, 3)):
        server = run["server_metrics"]
        assert run["ok"] == run["requests"] and server["error_count"] == 0 and server["samples"] >= 4
        running = [v for v in server["series"]["vllm:num_requests_running"] if v is not None]
        assert 1 <= max(running) <= concurrency and running[0] == 0 and running[-1] == 0
        success = server["series"]["vllm:request_success"]
        assert success[-1] - success[0] == run["ok"]  # the scrape after the last end sees every answer
        assert server["stats"]["vllm:num_requests_waiting"]["max"] == 0
        assert 0 < server["kv_cache_usage_max"] <= concurrency / 256
    assert shared["server_metrics"]["prefix_cache_hit_rate"] > 0.2
    assert unique["server_metrics"]["prefix_cache_hits"] == 0 and unique["server_metrics"]["prefix_cache_hit_rate"] == 0
    assert "perf-server-metrics" in (tmp_path / "shared" / "report.html").read_text()


def test_a_dead_metrics_endpoint_never_fails_the_run(tmp_path):
    with mock_server_process() as url:
        done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock",
                               "--local", "--no-progress", "--no-html", "-n", "5", "--max-tokens", "2",
                               "--metrics-url", "http://127.0.0.1:9/metrics", "-o", str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    run = json.loads((tmp_path / "perf.json").read_text())["runs"][0]
    assert run["ok"] == 5 and run["server_metrics"]["samples"] == 0
    assert run["server_metrics"]["errors"]["connect"] >= 2 and run["server_metrics"]["url"].endswith(":9/metrics")
