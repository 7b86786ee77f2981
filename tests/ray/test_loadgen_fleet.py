"""The Ray fleet on a two-node cluster (one process, fractional resources): workers spread over both nodes, every
request is recorded exactly once across the workers, and the run's figures are those vLLM's ``bench serve``
(``vllm.benchmarks.serve.calculate_metrics``, an independent implementation) computes from the union of the workers'
records."""

from __future__ import annotations

import json
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from evalray.job.perf_spec import PerfJobSpec  # noqa: E402
from evalray.loadgen.runner import run_perf_job  # noqa: E402
from evalray.testing.process import mock_server_process  # noqa: E402
from tests.conftest import without_session_ray  # noqa: E402


@pytest.fixture(scope="module")
def two_node_cluster():
    with without_session_ray():  # another test's local Ray is set aside, then restored
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False)
        yield cluster
        ray.shutdown()
        cluster.shutdown()


def test_four_workers_spread_over_two_nodes(two_node_cluster, tmp_path):
    with mock_server_process("--ttft-ms", "5", "--tpot-ms", "1", "--error-rate", "0.05") as url:
        spec = PerfJobSpec.model_validate({
            "name": "fleet", "output": str(tmp_path / "fleet"),
            "target": {"url": url, "model": "mock"},
            "prompts": {"max_tokens": 4, "input_tokens": 8},
            "load": {"rate": [60], "arrival": "poisson", "num_requests": 120, "warmup_requests": 8},
            "fleet": {"workers": 4, "cpus_per_worker": 0.25},
            "slo": {"ttft_p99": "1s"}, "html": False, "progress": False,
        })
        out = run_perf_job(spec, two_node_cluster.address)
    run = json.loads((out / "perf.json").read_text())["runs"][0]
    assert run["workers"] == 4 and len(set(run["worker_nodes"])) == 2
    records = pq.read_table(out / "records.parquet")
    assert sorted(set(records["worker"].to_pylist())) == [0, 1, 2, 3]
    assert sorted(records["request_id"].to_pylist()) == list(range(128))
    assert run["requests"] == 120 and run["errors"].get("http_500", 0) == run["requests"] - run["ok"]
    # the run's figures are those vLLM's bench serve computes from the union of the workers' measured records
    measured = records.filter(pc.and_(pc.equal(records["run"], 0), pc.invert(records["warmup"])))
    reference = _vllm_metrics(measured.to_pylist(), ttft_slo_ms=1000.0)
    assert (run["ok"], run["requests"] - run["ok"]) == (reference.completed, reference.failed)
    close = lambda ours, theirs: ours == pytest.approx(theirs, rel=1e-6, abs=2e-4)  # noqa: E731 - ours: 4 decimals
    pairs = {
        "request_throughput": (run["request_throughput"], reference.request_throughput),
        "output_token_throughput": (run["output_token_throughput"], reference.output_throughput),
        "total_token_throughput": (run["total_token_throughput"], reference.total_token_throughput),
        "goodput": (run["goodput"], reference.request_goodput),
    }
    for key, prefix in (("ttft_ms", "ttft"), ("tpot_ms", "tpot"), ("itl_ms", "itl"), ("e2e_ms", "e2el")):
        percentiles = dict(getattr(reference, f"percentiles_{prefix}_ms"))
        pairs[f"{key} mean"] = (run[key]["mean"], getattr(reference, f"mean_{prefix}_ms"))
        pairs[f"{key} std"] = (run[key]["std"], getattr(reference, f"std_{prefix}_ms"))
        pairs[f"{key} p50"] = (run[key]["p50"], getattr(reference, f"median_{prefix}_ms"))
        pairs[f"{key} p99"] = (run[key]["p99"], percentiles[99.0])
    misses = {key: pair for key, pair in pairs.items() if not close(*pair)}
    assert not misses, f"evalray vs vLLM bench serve: {misses}"


def _vllm_metrics(rows: list[dict], ttft_slo_ms: float):
    """vLLM's figures for these records: one RequestFuncOutput per request, over the span of the measured requests
    (docs/perf.md: evalray's duration, where vLLM's own runs use their wall time)."""
    serve = pytest.importorskip("vllm.benchmarks.serve")
    from vllm.benchmarks.lib.endpoint_request_func import RequestFuncOutput

    outputs = []
    for row in rows:
        chunks, start = row["chunk_times"] or [], row["actual_send"]
        outputs.append(RequestFuncOutput(
            success=row["error"] is None and row["status"] == 200, latency=row["end"] - start,
            output_tokens=row["completion_tokens"], ttft=chunks[0] - start if chunks else 0.0,
            itl=[b - a for a, b in zip(chunks, chunks[1:])], prompt_len=row["prompt_tokens"], start_time=start))
    duration = max(r["end"] for r in rows) - min(r["actual_send"] for r in rows)
    metrics, _ = serve.calculate_metrics([], outputs, duration, None, [50.0, 99.0], {"ttft": ttft_slo_ms})
    return metrics


def test_sessions_trace_and_benchmark_on_two_workers(two_node_cluster, tmp_path):
    """Ray workers run multi-turn sessions (each carrying its own conversation), replay a trace (each worker its
    share of the rows at the trace's times) and return a benchmark's answers for scoring."""
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps({"timestamp": 0.02 * i, "input_tokens": 4, "output_tokens": 2}) + "\n"
                             for i in range(40)))
    with mock_server_process("--ttft-ms", "1", "--record-requests", "200", "--unique-answers") as url:
        runs = {}
        for name, job in (("sessions", {"load": {"concurrency": [4]},
                                        "workload": {"type": "multi_turn", "sessions": 8, "turns": 3}}),
                          ("trace", {"workload": {"type": "trace", "file": str(trace)}}),
                          ("quality", {"load": {"concurrency": [4]},
                                       "workload": {"type": "benchmark", "name": "gsm8k", "limit": 8,
                                                    "data_dir": "evalray/data/quickstart/gsm8k"}})):
            spec = PerfJobSpec.model_validate({"name": name, "output": str(tmp_path / name), "html": False,
                                               "progress": False, "target": {"url": url, "model": "mock"},
                                               "fleet": {"workers": 2, "cpus_per_worker": 0.25}, **job})
            runs[name] = json.loads((run_perf_job(spec, two_node_cluster.address) / "perf.json").read_text())
    sessions = runs["sessions"]["runs"][0]
    assert sessions["requests"] == sessions["ok"] == 24 and sessions["sessions"]["completed"] == 8
    records = pq.read_table(tmp_path / "sessions" / "records.parquet")
    assert sorted(set(records["worker"].to_pylist())) == [0, 1]
    assert sorted(set(records["session"].to_pylist())) == list(range(8))
    assert set(records["turn"].to_pylist()) == {0, 1, 2}
    replay = runs["trace"]["runs"][0]
    assert replay["requests"] == replay["ok"] == 40 and replay["schedule_slip_ms"]["p50"] is not None
    sent = pq.read_table(tmp_path / "trace" / "records.parquet")
    assert sorted(sent["intended_send"].to_pylist()) == pytest.approx([0.02 * i for i in range(40)])
    quality = runs["quality"]["runs"][0]["quality"]  # the workers' answers reach the scorer
    assert quality["scored"] == 8 and quality["accuracy"] == 0.0  # the mock's "a<N> tok" answers are wrong
    answers = pq.read_table(tmp_path / "quality" / "records.parquet")["answer"].to_pylist()
    assert len(answers) == 8 and all(a.startswith("a") and "tok" in a for a in answers)
