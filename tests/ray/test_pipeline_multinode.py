"""Two Ray nodes on this machine (``ray.cluster_utils.Cluster``, 127.0.0.1, private temp dir and ports): the model
actors of one job land on both nodes and both serve samples; killing the worker node mid-job still gives a complete
result, with no sample missing or duplicated.

Each node has 2 logical CPUs and each model actor takes 1.5, so exactly one actor fits per node: the placement is
deterministic, and the 0.5 CPU left on each node runs the scoring tasks (``scoring.num_cpus: 0.25``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pytest

from tests.conftest import free_port, without_session_ray

REPO = Path(__file__).resolve().parents[2]
NODE_CPUS = 2
ACTOR_CPUS = 1.5  # exactly one model actor fits per node; scoring tasks take 0.25 of the rest

JOB = """
name: twonode
models:
  - name: tiny
    backend: hf
    source: builtin:tiny-llama
    replicas: 2
    resources: {num_cpus: %(cpus)s}
    batch_size: 2
    generation: {max_tokens: %(tokens)s, temperature: 0.0}
benchmarks:
  - {name: gsm8k, data_dir: "builtin:quickstart/gsm8k", limit: 40}
  - {name: mmlu, data_dir: "builtin:quickstart/mmlu"}
output: %(output)s
scoring: {num_cpus: 0.25}
"""


def node_args(num_cpus: int) -> dict[str, Any]:
    return dict(num_cpus=num_cpus, node_ip_address="127.0.0.1", object_manager_port=free_port(),
                runtime_env_agent_port=free_port(), metrics_export_port=free_port(), metrics_agent_port=free_port(),
                dashboard_agent_listen_port=free_port(), object_store_memory=200 * 1024**2)


@pytest.fixture()
def cluster() -> Iterator[Any]:
    """Head + one worker node. RAY_TMPDIR keeps their files (and the 'current cluster' address file that
    ``ray.init()`` reads) away from every other Ray on the machine."""
    with without_session_ray():
        yield from _cluster()


def _cluster() -> Iterator[Any]:
    from ray.cluster_utils import Cluster

    saved = {k: os.environ.get(k) for k in ("RAY_TMPDIR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")}
    temp = tempfile.mkdtemp(prefix="emn-", dir="/tmp")
    os.environ.update(RAY_TMPDIR=temp, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    os.environ.pop("RAY_ADDRESS", None)
    nodes = None
    try:
        dashboard_port = free_port()  # the State API (which node ran each scoring task) needs the dashboard
        nodes = Cluster(initialize_head=True, head_node_args={
            **node_args(NODE_CPUS), "gcs_server_port": free_port(), "include_dashboard": True,
            "dashboard_host": "127.0.0.1", "dashboard_port": dashboard_port, "ray_client_server_port": free_port()})
        nodes.dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        nodes.add_node(**node_args(NODE_CPUS))
        nodes.wait_for_nodes()
        yield nodes
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        if nodes is not None:
            nodes.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(temp, ignore_errors=True)


def write_job(tmp_path: Path, tokens: int = 24) -> Path:
    path = tmp_path / "twonode.yaml"
    path.write_text(JOB % {"cpus": ACTOR_CPUS, "output": tmp_path / "out", "tokens": tokens})
    return path


def samples(output: Path) -> pd.DataFrame:
    frames = [pd.read_parquet(p).assign(benchmark=p.stem) for p in sorted((output / "samples" / "tiny").glob("*.parquet"))]
    return pd.concat(frames, ignore_index=True)


def check_complete(output: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """result.json says completed, every expected sample is there, and none arrived twice. The samples files hold one
    row per sample whatever arrived (the runner keeps one copy), so "none twice" is read from the rows the driver
    collected before that: ``counts[i]["duplicates"]``, the extra copies it dropped for that model and benchmark."""
    result = json.loads((output / "result.json").read_text())
    assert result["status"] == "completed", result.get("error")
    frame = samples(output)
    got = frame.groupby("benchmark")["id"].count()
    for count in result["counts"]:
        benchmark = count["benchmark"]
        assert got.loc[benchmark] == count["expected"], f"{benchmark}: {got.loc[benchmark]} of {count['expected']} samples"
        assert "duplicates" in count, f"result.json counts carry no 'duplicates' (collected rows seen twice): {count}"
        assert count["duplicates"] == 0, f"{benchmark}: {count['duplicates']} samples arrived more than once"
    assert not frame["error"].notna().any(), frame["error"].dropna().head().tolist()
    return result, frame


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_both_nodes_serve_samples(cluster: Any, tmp_path: Path) -> None:
    from evalray.job.loader import load_job
    from evalray.pipeline.runner import run_job

    job = load_job(write_job(tmp_path))
    outcome = run_job(job, address=cluster.address, progress=False)
    _, frame = check_complete(Path(outcome.output))
    node_ids = {n.node_id for n in [cluster.head_node, *cluster.worker_nodes]}
    served = frame.groupby("node_id")["id"].count()
    assert set(served.index) == node_ids, f"samples served by {served.to_dict()}, nodes {node_ids}"
    assert frame["served_by"].nunique() == 2
    assert served.min() > 0
    scored_on = scoring_nodes(cluster)
    assert scored_on == node_ids, f"scoring tasks ran on {scored_on}, nodes {node_ids}"


def scoring_nodes(cluster: Any) -> set[str]:
    """Nodes that ran the job's scoring tasks, from the State API."""
    from ray.util.state import list_tasks

    tasks = list_tasks(address=cluster.dashboard_url, detail=True, limit=10000, raise_on_missing_output=False)
    return {t.node_id for t in tasks if "score_batch" in (t.name or "") and t.node_id}


def actors_on(cluster: Any, node_id: str) -> int:
    """Alive model actors on a node, read from the GCS (no dashboard needed)."""
    table = cluster.global_state.actor_table(None)
    return sum(1 for a in table.values() if a["State"] == "ALIVE" and a["Address"]["NodeID"] == node_id
               and "ModelStage" in a["ActorClassName"])


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_killing_the_worker_node_mid_job_loses_nothing(cluster: Any, tmp_path: Path) -> None:
    job = write_job(tmp_path, tokens=256)  # long answers: the job is still running when the node dies
    [worker] = list(cluster.worker_nodes)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "driver.log").open("w")
    driver = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "run", str(job), "--address", cluster.address,
                               "--quiet"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while actors_on(cluster, worker.node_id) == 0:
            assert driver.poll() is None, f"the job ended before its actor reached the worker: {_tail(tmp_path)}"
            assert time.monotonic() < deadline, "no model actor ever started on the worker node"
            time.sleep(0.5)
        time.sleep(3)  # let the worker's actor take and answer some batches
        assert driver.poll() is None, "the job finished before the kill: make it longer"
        cluster.remove_node(worker, allow_graceful=False)
        cluster.add_node(**node_args(NODE_CPUS))  # the replacement a KubeRay/autoscaled cluster would bring up
        assert driver.wait(timeout=900) == 0, _tail(tmp_path)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        log.close()
    restarts = [a["NumRestarts"] for a in cluster.global_state.actor_table(None).values()
                if "ModelStage" in a["ActorClassName"]]
    assert max(restarts) >= 1, f"no model actor was restarted: the kill hit nothing ({restarts})"
    check_complete(tmp_path / "out")  # outputs lost with the node were recomputed: every sample exactly once


def _tail(tmp_path: Path) -> str:
    text = (tmp_path / "driver.log").read_text(errors="replace")
    return text[-3000:]
