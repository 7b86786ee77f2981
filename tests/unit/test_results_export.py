"""Export rows: perf run points and eval scores as flat CSV / JSONL; malformed runs are one clear error; W&B and
MLflow logging through fake modules injected into sys.modules (never the network)."""

from __future__ import annotations

import csv
import io
import json
import types

import pytest

from evalray.errors import ConfigError
from evalray.results.export import load_run, render, rows_of
from evalray.results.export_trackers import log_rows
from evalray.results.schema import RunResult


def _perf(tmp_path, name="sweep"):
    stats = lambda base: {"mean": base, "p50": base, "p90": base + 1, "p99": base + 2}  # noqa: E731
    run = {"concurrency": 4, "rate": None, "workers": 1, "requests": 10, "ok": 9, "errors": {"http_500": 1},
           "error_rate": 0.1, "request_throughput": 12.5, "output_token_throughput": 100.0, "ttft_ms": stats(10.0),
           "tpot_ms": stats(2.0), "itl_ms": stats(3.0), "e2e_ms": stats(50.0), "goodput": 8.0,
           "quality": {"accuracy": 0.75, "goodput_correct": 6.0},
           "server_metrics": {"prefix_cache_hit_rate": 0.5, "kv_cache_usage_max": 0.25}}
    document = {"schema_version": 1, "kind": "perf", "name": name, "created": "2026-12-02T01:00:00Z",
                "target": {"url": "http://h:8000/v1", "model": "m", "stream": True},
                "runs": [run, {**run, "concurrency": None, "rate": 2.0, "quality": None}], "job": {}}
    path = tmp_path / name
    path.mkdir()
    (path / "perf.json").write_text(json.dumps(document))
    return path


def _eval(tmp_path):
    score = {"model": "tiny", "benchmark": "gsm8k", "metric": "exact_match", "level": "overall", "value": 0.5,
             "stderr": 0.1, "ci_low": 0.3, "ci_high": 0.7, "n": 20}
    result = RunResult(run_id="r-1", name="ev", status="completed", started_at="t0", finished_at="t1",
                       job={"models": [{"name": "tiny", "base_url": "http://e/v1"}]}, env={},
                       scores=[score, {**score, "subset": "a", "level": "subset"}, {**score, "metric": "f1"}])
    path = tmp_path / "ev"
    path.mkdir()
    (path / "result.json").write_text(result.model_dump_json())
    return path


def test_perf_rows_one_per_point_with_latency_goodput_and_accuracy(tmp_path):
    rows = rows_of([_perf(tmp_path)])
    assert [r["load"] for r in rows] == ["c=4", "rate=2/s"]
    first = rows[0]
    assert first["run_id"] == "sweep-20261202T010000Z" and first["endpoint"] == "http://h:8000/v1"
    assert first["request_throughput"] == 12.5 and first["errors"] == 1 and first["goodput"] == 8.0
    assert (first["ttft_p50_ms"], first["ttft_p90_ms"], first["ttft_p99_ms"]) == (10.0, 11.0, 12.0)
    assert first["itl_p99_ms"] == 5.0 and first["e2e_p90_ms"] == 51.0 and first["tpot_p50_ms"] == 2.0
    assert first["accuracy"] == 0.75 and rows[1]["accuracy"] is None and first["prefix_cache_hit_rate"] == 0.5


def test_eval_rows_one_per_model_benchmark_metric_overall_only(tmp_path):
    rows = rows_of([_eval(tmp_path)])
    assert [(r["model"], r["benchmark"], r["metric"], r["value"]) for r in rows] == [
        ("tiny", "gsm8k", "exact_match", 0.5), ("tiny", "gsm8k", "f1", 0.5)]
    assert rows[0]["endpoint"] == "http://e/v1" and rows[0]["run_id"] == "r-1" and rows[0]["n"] == 20


def test_csv_and_jsonl_of_both_kinds_read_back(tmp_path):
    rows = rows_of([_perf(tmp_path), _eval(tmp_path)])
    table = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert len(table) == 4 and table[0]["ttft_p99_ms"] == "12.0" and table[2]["ttft_p99_ms"] == ""
    assert table[3]["metric"] == "f1" and table[1]["rate"] == "2.0" and table[1]["concurrency"] == ""
    lines = [json.loads(line) for line in render(rows, "jsonl").splitlines()]
    assert [line["kind"] for line in lines] == ["perf", "perf", "eval", "eval"] and lines[2]["value"] == 0.5


@pytest.mark.parametrize("content,message", [(None, "no such file"), ("", "no perf.json or result.json"),
                                             ("{not json", "not valid JSON"), ("[1]", "expected a JSON object"),
                                             ('{"kind": "eval"}', "neither a perf run")])
def test_missing_or_malformed_runs_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "run"
    if content is not None:
        path.mkdir()
        if content:
            (path / "perf.json").write_text(content)
    with pytest.raises(ConfigError, match=message) as error:
        load_run(path)
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="expected one of csv, jsonl"):
        render([], "xml")


class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs)) or self


def test_wandb_gets_one_run_with_a_step_per_point_and_the_scores(tmp_path, monkeypatch):
    run = _Recorder()
    fake = types.ModuleType("wandb")
    fake.init = lambda **kwargs: run.calls.append(("init", (), kwargs)) or run
    fake.Table = lambda columns, data: ("table", columns, data)
    monkeypatch.setitem(__import__("sys").modules, "wandb", fake)
    rows = rows_of([_perf(tmp_path), _eval(tmp_path)])
    assert log_rows("wandb", rows, project="p") == "logged 4 rows to wandb (p/sweep-20261202T010000Z)"
    names = [c[0] for c in run.calls]
    assert names == ["init", "log", "log", "log", "log", "finish"]
    assert run.calls[0][2]["project"] == "p" and run.calls[0][2]["config"]["model"] == "m"
    assert run.calls[1][2] == {"step": 0} and run.calls[1][1][0]["ttft_p99_ms"] == 12.0
    assert "concurrency" not in run.calls[2][1][0] and run.calls[2][1][0]["rate"] == 2.0
    assert run.calls[3][1][0] == {"tiny/gsm8k/exact_match": 0.5, "tiny/gsm8k/f1": 0.5}
    assert run.calls[4][1][0]["summary"][0] == "table" and len(run.calls[4][1][0]["summary"][2]) == 4


def test_mlflow_gets_params_metrics_by_step_and_the_rows(tmp_path, monkeypatch):
    import contextlib

    fake, calls = types.ModuleType("mlflow"), []
    for name in ("set_experiment", "log_params", "log_metrics", "log_dict"):
        setattr(fake, name, lambda *a, _n=name, **k: calls.append((_n, a, k)))
    fake.start_run = lambda **k: calls.append(("start_run", (), k)) or contextlib.nullcontext()
    monkeypatch.setitem(__import__("sys").modules, "mlflow", fake)
    log_rows("mlflow", rows_of([_perf(tmp_path)]), run_name="r")
    assert [c[0] for c in calls] == ["set_experiment", "start_run", "log_params", "log_metrics", "log_metrics",
                                     "log_dict"]
    assert calls[0][1] == ("sweep",) and calls[1][2] == {"run_name": "r"} and calls[4][2] == {"step": 1}
    assert calls[3][1][0]["goodput"] == 8.0 and calls[5][1][1] == "summary.json"


@pytest.mark.parametrize("tracker", ["wandb", "mlflow"])
def test_an_absent_tracker_package_is_one_line_naming_it(monkeypatch, tracker):
    monkeypatch.setitem(__import__("sys").modules, tracker, None)  # import fails, as when it is not installed
    with pytest.raises(ConfigError, match=f"the '{tracker}' package is not installed"):
        log_rows(tracker, [{"kind": "perf"}])
    with pytest.raises(ConfigError, match="expected one of wandb, mlflow"):
        log_rows("neptune", [{"kind": "perf"}])
