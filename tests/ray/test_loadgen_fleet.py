"""The Ray fleet on a two-node cluster (one process, fractional resources): workers spread over both nodes and the
aggregate figures equal the figures of the union of the workers' records."""

from __future__ import annotations

import json
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import ray  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from evalray.job.perf_spec import PerfJobSpec, parse_slos  # noqa: E402
from evalray.loadgen.metrics import compute_metrics  # noqa: E402
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
    # the run's figures are exactly those of the union of the workers' records
    union = compute_metrics(records.filter(pc.equal(records["run"], 0)), parse_slos(spec.slo))
    for key in ("requests", "ok", "errors", "duration_s", "request_throughput", "output_token_throughput",
                "ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "queue_ms", "goodput"):
        assert run[key] == union[key], key
    assert run["requests"] == 120 and run["errors"].get("http_500", 0) == run["requests"] - run["ok"]
