"""Data-parallel scaling of the generate stage: throughput against the number of model replicas.

A simulated engine (``evalray.models.simulated``: each batch takes a fixed ``service_time_s`` of wall time and no
CPU) runs as 1, 2, 4 and 8 replicas on a two-node Ray test cluster (``ray.cluster_utils.Cluster``), so the box's
cores are not the limit and the numbers show the pipeline's own overhead. Every replica gets the same work
(``--batches`` batches of ``--batch-size`` requests: weak scaling); the scaling efficiency at N replicas is
``throughput(N) / (N * throughput(1))``.

Two throughputs are reported: wall (rows / time of the whole stage, actor start-up included) and steady (each
replica's rate between its first and last finished batch, summed over the replicas).

    python benchmarks/scaling.py                      # writes benchmarks/results/scaling.{json,md}
    python benchmarks/scaling.py --replicas 1,2 --batches 8 --out /tmp/scaling   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
REPLICA_CPUS = 0.25


def _timed_stage():
    """The pipeline's own generate-stage actor (:class:`evalray.models.stage.ModelStage`) running the simulated
    backend, stamping when each batch finished."""
    import pyarrow as pa

    from evalray.models.stage import ModelStage

    class TimedStage(ModelStage):
        def __call__(self, table):
            out = super().__call__(table)
            return out.append_column("done_at", pa.array([time.time()] * len(out), pa.float64()))

    return TimedStage


def request_rows(n: int) -> list[dict[str, Any]]:
    from evalray.rows import request_row
    from evalray.types import Request, Sample

    return [request_row(Sample(id=str(i), benchmark="sim", subset=None, input="", target=""),
                        Request(kind="generate", prompt=f"prompt {i}", max_tokens=8), "sim", "generate")
            for i in range(n)]


def run_point(replicas: int, args) -> dict[str, Any]:
    import ray

    from evalray.job.spec import SimulatedModelSpec
    from evalray.rows import table_from_rows

    spec = SimulatedModelSpec(name="sim", backend="simulated", source="simulated", replicas=replicas,
                              batch_size=args.batch_size, resources={"num_cpus": REPLICA_CPUS},
                              service_time_s=args.service_time)
    rows = replicas * args.batches * args.batch_size
    blocks = replicas * max(1, args.batches // args.batches_per_block)
    table = table_from_rows(request_rows(rows))
    step = -(-rows // blocks)
    ds = ray.data.from_arrow([table.slice(i, step) for i in range(0, rows, step)])
    ds = ds.map_batches(_timed_stage(), fn_constructor_args=(spec.model_dump_json(), {}, "evalray.models.simulated"),
                        compute=ray.data.ActorPoolStrategy(size=replicas), num_cpus=REPLICA_CPUS,
                        batch_size=args.batch_size, batch_format="pyarrow")
    start = time.time()
    out = ds.to_pandas()
    wall = time.time() - start
    assert len(out) == rows and out["uid"].is_unique, "lost or duplicated rows"
    # steady state: each replica's rate between its first and its last finished batch, summed over replicas
    steady = 0.0
    for _, part in out.groupby("served_by"):
        first, last = part["done_at"].min(), part["done_at"].max()
        if last > first:
            steady += int((part["done_at"] > first).sum()) / (last - first)
    return {
        "replicas": replicas, "rows": rows, "wall_s": round(wall, 3),
        "wall_throughput": rows / wall, "steady_throughput": steady or rows / wall,
        "actors": int(out["served_by"].nunique()), "nodes": int(out["node_id"].nunique()),
        "ideal_throughput": replicas * args.batch_size / args.service_time,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", default="1,2,4,8", help="comma-separated replica counts")
    parser.add_argument("--service-time", type=float, default=0.5, help="seconds per batch of the simulated engine")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batches", type=int, default=40, help="batches per replica")
    parser.add_argument("--batches-per-block", type=int, default=4, help="input block size, in batches")
    parser.add_argument("--node-cpus", type=int, default=4, help="logical CPUs of each of the two nodes")
    parser.add_argument("--out", default=str(HERE / "results" / "scaling"), help="output path without extension")
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.replicas.split(",")]

    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.node_cpus, "include_dashboard": False})
    cluster.add_node(num_cpus=args.node_cpus)
    ray.init(address=cluster.address, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        # warm-up (not recorded): start the worker processes and import evalray on both nodes once
        run_point(max(counts), argparse.Namespace(**{**vars(args), "batches": 2}))
        points = []
        for n in counts:
            point = run_point(n, args)
            points.append(point)
            print(f"replicas={n}: {point['wall_throughput']:.1f} rows/s wall, "
                  f"{point['steady_throughput']:.1f} rows/s steady on {point['nodes']} node(s)", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    base = points[0]
    for p in points:
        factor = p["replicas"] / base["replicas"]
        p["wall_efficiency"] = p["wall_throughput"] / (factor * base["wall_throughput"])
        p["steady_efficiency"] = p["steady_throughput"] / (factor * base["steady_throughput"])
    result = {
        "benchmark": "generate-stage data-parallel scaling (simulated engine)",
        "service_time_s": args.service_time, "batch_size": args.batch_size, "batches_per_replica": args.batches,
        "cluster": {"nodes": 2, "logical_cpus_per_node": args.node_cpus, "cpus_per_replica": REPLICA_CPUS,
                    "machine_cores": os.cpu_count()},
        "versions": {"python": platform.python_version(), "ray": ray.__version__},
        "points": points,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Simulated engine: {result['service_time_s']} s per batch of {result['batch_size']}, "
        f"{result['batches_per_replica']} batches per replica; two-node Ray test cluster "
        f"({result['cluster']['logical_cpus_per_node']} logical CPUs each, {result['cluster']['cpus_per_replica']} "
        f"per replica) on a {result['cluster']['machine_cores']}-core machine, Ray {result['versions']['ray']}.",
        "",
        "| replicas | nodes used | rows | throughput (rows/s, wall) | efficiency (wall) "
        "| throughput (rows/s, steady) | efficiency (steady) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in result["points"]:
        lines.append(f"| {p['replicas']} | {p['nodes']} | {p['rows']} | {p['wall_throughput']:.1f} | "
                     f"{p['wall_efficiency']:.3f} | {p['steady_throughput']:.1f} | {p['steady_efficiency']:.3f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
