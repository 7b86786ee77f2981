"""Quality under load against `evalray mock-server` in a subprocess: GSM8K's own requests (the 50 quickstart items
shipped in the package) answered with the gold solutions give accuracy 1.0 at every load point; a server that
answers wrongly above 10 requests per second gives the expected drop; correct answers outside the SLO are counted
apart."""

from __future__ import annotations

import json

import pytest

from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.runner import run_perf_job
from evalray.loadgen.workloads import plan_workload
from evalray.testing.process import mock_server_process

GSM8K = {"type": "benchmark", "name": "gsm8k", "data_dir": "evalray/data/quickstart/gsm8k", "limit": 40}


def _job(url: str, out, **job) -> PerfJobSpec:
    return PerfJobSpec.model_validate({"target": {"url": url, "model": "mock"}, "fleet": {"local": True},
                                       "output": str(out), "html": False, "progress": False, "workload": GSM8K,
                                       **job})


@pytest.fixture(scope="module")
def gold_answers(tmp_path_factory):
    """The mock's answers: each GSM8K request's gold solution (its last number is the target)."""
    plan = plan_workload(_job("http://127.0.0.1:1/v1", "unused"))
    path = tmp_path_factory.mktemp("answers") / "gsm8k.jsonl"
    path.write_text("".join(json.dumps({"prompt": p.messages[-1]["content"], "answer": s.metadata["solution"]}) + "\n"
                            for p, s in zip(plan.prompts, plan.quality.samples)))
    return str(path)


def _runs(spec: PerfJobSpec) -> list[dict]:
    return json.loads((run_perf_job(spec, None) / "perf.json").read_text())["runs"]


def test_gold_answers_score_one_at_every_load_point_and_degrade_above_the_rate(gold_answers, tmp_path):
    with mock_server_process("--ttft-ms", "2", "--tpot-ms", "0.2", "--answers", gold_answers) as url:
        gold = _runs(_job(url, tmp_path / "gold", load={"rate": [10, 40], "arrival": "constant"},
                          slo={"e2e_p99": "5s"}))
    with mock_server_process("--ttft-ms", "2", "--answers", gold_answers, "--degrade-above-rate", "10") as url:
        degraded = _runs(_job(url, tmp_path / "degraded", load={"rate": [5, 20], "arrival": "constant"},
                              workload={**GSM8K, "limit": 30}))
    for run in gold:
        quality = run["quality"]
        assert run["requests"] == run["ok"] == 40 and quality["benchmark"] == "gsm8k"
        assert quality["metric"] == "exact_match" and quality["accuracy"] == 1.0 == quality["accuracy_answered"]
        assert quality["correct"] == quality["correct_within_slo"] == 40 and quality["correct_violating_slo"] == 0
        assert quality["goodput_correct"] == pytest.approx(run["goodput"], rel=1e-6)
    slow, fast = (run["quality"] for run in degraded)
    assert slow["accuracy"] == 1.0 and slow["requests"] == 30
    # at 20 req/s only the first 10 requests of the first second are answered, the other 20 of 30 are not (a few
    # more when the last second of the 5 req/s point still counts): accuracy 1/3, at least 0.2
    assert 0.2 <= fast["accuracy"] <= 0.37 and fast["correct"] == round(fast["accuracy"] * 30)


def test_correct_answers_outside_the_slo_are_counted_apart(gold_answers, tmp_path):
    with mock_server_process("--ttft-ms", "20", "--answers", gold_answers) as url:
        (run,) = _runs(_job(url, tmp_path / "slo", load={"concurrency": [8]}, slo={"ttft_p50": "5ms"}))
    quality = run["quality"]
    assert quality["accuracy"] == 1.0 and quality["correct"] == 40
    assert quality["correct_violating_slo"] == 40 and quality["correct_within_slo"] == 0
    assert quality["goodput_correct"] == 0.0 and run["slo"]["met"] is False


def test_perf_benchmark_workload_flags(tmp_path):
    import subprocess
    import sys

    with mock_server_process("--ttft-ms", "1") as url:
        done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock",
                               "--workload", "benchmark", "--dataset", "gsm8k", "--data-dir", GSM8K["data_dir"],
                               "--limit", "12", "-c", "4", "--local", "--no-html", "--no-progress",
                               "-o", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (run,) = json.loads((tmp_path / "run" / "perf.json").read_text())["runs"]
    assert run["workload"] == "benchmark" and run["requests"] == 12  # every sample once
    assert run["quality"]["accuracy"] == 0.0 and run["quality"]["scored"] == 12  # the mock's "tok tok" is wrong
    assert "gsm8k exact_match 0.0000 (0 correct" in done.stdout
