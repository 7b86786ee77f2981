"""``backend: serve`` through ``run_job`` (hf-wrapped deployment on this machine) against ``backend: hf``, and
``evalray serve`` followed by ``evalray perf`` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from tests.conftest import ROOT, free_port, run_cli, shared_data

pytestmark = pytest.mark.timeout(900)


def test_serve_gives_the_hf_mmlu_choices_and_is_torn_down(ray_session, tmp_path):
    from ray import serve

    from evalray.job.loader import build_job
    from evalray.pipeline.runner import run_job

    mmlu = shared_data("mmlu")
    common = {"source": "builtin:tiny-llama", "dtype": "float32", "batch_size": 16, "resources": {"num_cpus": 0.5}}
    job = build_job({
        "name": "serve-vs-hf", "output": str(tmp_path / "out"),
        "models": [
            {"name": "tiny-hf", "backend": "hf", **common},
            {"name": "tiny-serve", "backend": "serve", **common,
             "serving": {"engine": "hf", "port": free_port(), "app_name": "evalray-job-test"}},
        ],
        "benchmarks": [{"name": "mmlu", "data_dir": str(mmlu), "limit": 50, "subsets": ["abstract_algebra", "anatomy"],
                        "mode": "loglikelihood"}],
    })
    run_job(job, progress=False)
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "completed", result.get("error")
    assert {c["model"]: c["samples"] for c in result["counts"]} == {"tiny-hf": 100, "tiny-serve": 100}
    hf = pd.read_parquet(tmp_path / "out" / "samples" / "tiny-hf" / "mmlu.parquet").set_index("uid")
    served = pd.read_parquet(tmp_path / "out" / "samples" / "tiny-serve" / "mmlu.parquet").set_index("uid")
    assert served["error"].isna().all(), served["error"].dropna().head(2).tolist()
    assert list(served.loc[hf.index, "extracted"]) == list(hf["extracted"])
    assert "evalray-job-test" not in serve.status().applications  # deleted after the run (keep: false)


def wait_for_line(process: subprocess.Popen, marker: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"no '{marker}' from evalray serve; output:\n{''.join(seen)[-2000:]}")


def test_evalray_serve_then_evalray_perf(tmp_path):
    try:
        import evalray.cli.perf_commands  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("evalray perf is not there yet (evalray/cli/perf_commands.py)")
    port = free_port()
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "evalray.cli.main", "serve", "--model", "builtin:tiny-llama", "--model-name", "tiny",
         "--port", str(port), "--num-cpus", "0.5", "--min-replicas", "1", "--max-replicas", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
    try:
        line = wait_for_line(server, "serving model", 300)
        url = line.split(" at ")[-1].strip()
        assert url == f"http://127.0.0.1:{port}/v1"
        out = tmp_path / "perf"
        done = run_cli("perf", "--url", url, "--model", "tiny", "--api", "completions", "--concurrency", "2",
                       "--num-requests", "8", "--max-tokens", "8", "--input-tokens", "16", "--local",
                       "--tokenizer", "builtin:tiny-llama", "--output", str(out), "--no-progress", "--no-html",
                       timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        perf = json.loads((out / "perf.json").read_text())
        run = perf["runs"][0]
        assert run["requests"] == 8 and run["ok"] == 8 and run["errors"] == {}
        assert run["ttft_ms"]["p50"] > 0 and run["output_token_throughput"] > 0
    finally:
        server.send_signal(signal.SIGINT)
        try:
            rest = server.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            rest = server.communicate()[0]
    assert "deleting the Serve app" in rest and server.returncode == 0, rest[-2000:]


def test_evalray_serve_usage_errors_are_one_line(tmp_path):
    done = run_cli("serve", timeout=60)
    assert done.returncode == 2 and "give a job file or --model SOURCE" in done.stderr
    job = tmp_path / "job.yaml"
    job.write_text("name: x\nmodels:\n  - {name: a, source: builtin:tiny-llama}\n"
                   "  - {name: b, source: builtin:tiny-llama}\nbenchmarks:\n  - {name: gsm8k}\n")
    done = run_cli("serve", str(job), timeout=60)
    assert done.returncode == 2 and "has 2 models; choose one with --model-name" in done.stderr
    done = run_cli("serve", str(job), "--model-name", "c", timeout=60)
    assert done.returncode == 2 and "no model named 'c'" in done.stderr
