"""`evalray export` on real runs: a perf run against `evalray mock-server` (whose job's export: block logs to a fake
wandb injected into sys.modules) and an eval result.json, as CSV and JSONL; a missing or malformed run dir is one
line on stderr and exit code 2."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
import types

from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.runner import run_perf_job
from evalray.results.schema import RunResult
from evalray.testing.process import mock_server_process


def _export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalray.cli.main", "export", *args], capture_output=True, text=True,
                          timeout=120)


def test_export_perf_and_eval_runs(tmp_path, monkeypatch):
    logged = []
    fake = types.ModuleType("wandb")
    fake.init = lambda **kwargs: types.SimpleNamespace(log=lambda data, **k: logged.append(data),
                                                       finish=lambda: logged.append("finish"))
    fake.Table = lambda columns, data: data
    monkeypatch.setitem(sys.modules, "wandb", fake)
    with mock_server_process("--ttft-ms", "2") as url:
        spec = PerfJobSpec.model_validate({"name": "exp", "target": {"url": url, "model": "mock"},
                                           "fleet": {"local": True}, "output": str(tmp_path / "perf"),
                                           "progress": False, "html": False, "load": {"concurrency": [1, 2],
                                                                                      "num_requests": 6},
                                           "prompts": {"max_tokens": 3}, "export": {"to": "wandb"}})
        run_perf_job(spec, None)
    assert logged[0]["ok"] == 6 and logged[0]["ttft_p50_ms"] >= 2.0 and len(logged) == 4 and logged[-1] == "finish"
    score = {"model": "tiny", "benchmark": "gsm8k", "metric": "exact_match", "level": "overall", "value": 0.25, "n": 4}
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "result.json").write_text(RunResult(
        run_id="e-1", name="ev", status="completed", started_at="a", finished_at="b", job={}, env={},
        scores=[score]).model_dump_json())

    done = _export(str(tmp_path / "perf"), str(tmp_path / "eval"), "-o", str(tmp_path / "s.csv"))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    assert [r["load"] for r in rows] == ["c=1", "c=2", ""] and [r["kind"] for r in rows] == ["perf", "perf", "eval"]
    assert rows[0]["ok"] == "6" and float(rows[1]["ttft_p99_ms"]) >= 2.0 and rows[2]["value"] == "0.25"
    done = _export(str(tmp_path / "perf" / "perf.json"), "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["concurrency"] for line in lines] == [1, 2] and lines[0]["endpoint"] == url

    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "result.json").write_text("{truncated")
    cases = [([str(tmp_path / "missing")], "no such file or directory"), ([str(tmp_path / "bad")], "not valid JSON")]
    if importlib.util.find_spec("mlflow") is None:
        cases.append(([str(tmp_path / "perf"), "--to", "mlflow"], "'mlflow' package is not installed"))
    for args, message in cases:
        done = _export(*args)
        assert done.returncode == 2 and done.stderr.startswith("error: export") and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout


def test_perf_to_an_absent_tracker_stops_before_any_load(tmp_path):
    if importlib.util.find_spec("wandb") is not None:
        return
    done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--url", "http://127.0.0.1:9/v1",
                           "--model", "m", "--local", "--to", "wandb", "-o", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "'wandb' package is not installed" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "perf.json").exists()
