"""Judging throughput through a mock judge endpoint with 50 ms latency.

Two workloads, each one ``evalray`` job (Ray Data: replay models answer, the judge stage streams behind them):

* ``alpaca_eval`` — the 805 instructions, candidate vs baseline, both orders, the weighted annotator (two
  log-likelihood calls per game: the ``m`` and ``M`` tokens): 1,610 judgments, 3,220 HTTP requests;
* ``mt_bench_pairwise_all`` — 4 models, every pair (6), 80 questions x 2 turns x 2 orders: 1,920 judgments (turn 2
  is a second round of generation).

The mock judge (:class:`evalray.testing.judge_server.ScriptedServer`) answers every request after ``--latency``
seconds. Reported per workload: judgments, HTTP requests, wall time of the whole job (plan, Ray start, generation,
judging, results), the judging window (first judge request sent -> last verdict parsed) and judgments per second
over that window.

EvalScope's arena mode was not measured: it is not installed in this project's environment (its PyPI package pulls
a large dependency tree), so the table holds evalray alone.

    python benchmarks/judge_throughput.py                 # full sizes
    python benchmarks/judge_throughput.py --limit 40 --tag quick

Writes ``benchmarks/results/judge_throughput[-TAG].json`` and prints the table.
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
DATA = (ROOT / ".." / "shared" / "data").resolve()


def alpaca_job(tmp: Path, url: str, limit: int | None, replicas: int, concurrency: int) -> dict:
    items = json.loads((DATA / "alpaca_eval" / "example" / "outputs.json").read_text())[:limit]
    for name, prefix in (("base", "baseline answer"), ("cand", "candidate answer with more words")):
        (tmp / f"{name}.jsonl").write_text("".join(json.dumps({"id": str(i), "output": f"{prefix} {i}"}) + "\n"
                                                   for i in range(len(items))))
    return {
        "name": "judge-throughput-alpaca", "output": str(tmp / "out-alpaca"),
        "models": [{"name": n, "backend": "replay", "source": str(tmp / f"{n}.jsonl"), "resources": {"num_cpus": 0.1}}
                   for n in ("base", "cand")],
        "judges": [judge(url, replicas, concurrency, chat=False)],
        "benchmarks": [{"name": "alpaca_eval", "data_dir": str(DATA / "alpaca_eval"), "limit": limit,
                        "arena": {"baseline": "base", "bootstrap": 100}}]}


def mt_job(tmp: Path, url: str, limit: int | None, replicas: int, concurrency: int) -> dict:
    questions = [json.loads(line) for line in
                 (DATA / "mt_bench/fastchat/llm_judge/data/mt_bench/question.jsonl").open()]
    models = []
    for m in range(4):
        path = tmp / f"m{m}.jsonl"
        path.write_text("".join(json.dumps({"id": str(q["question_id"]), "output": [f"m{m} turn 1", f"m{m} turn 2"]})
                                + "\n" for q in questions))
        models.append({"name": f"m{m}", "backend": "replay", "source": str(path), "resources": {"num_cpus": 0.1}})
    return {"name": "judge-throughput-mt", "output": str(tmp / "out-mt"), "models": models,
            "judges": [judge(url, replicas, concurrency, chat=True)],
            "benchmarks": [{"name": "mt_bench", "data_dir": str(DATA / "mt_bench"),
                            **({"limit": max(1, limit // 8)} if limit else {}),
                            "arena": {"mode": "pairwise_all", "bootstrap": 100}}]}


def judge(url: str, replicas: int, concurrency: int, chat: bool) -> dict:
    return {"name": "mock-judge", "backend": "openai", "source": url, "chat": chat, "replicas": replicas,
            "concurrency": concurrency, "resources": {"num_cpus": 0.25}}


def reply(messages: list) -> str:
    text = messages[-1]["content"]
    return "[[A]]" if len(text) % 2 else "[[B]]"


def run(name: str, build, args, tmp: Path) -> dict:
    import pyarrow.parquet as pq

    from evalray.job.spec import JobSpec
    from evalray.pipeline.runner import run_job
    from evalray.testing.judge_server import ScriptedServer

    with ScriptedServer(reply, logprob=lambda context, token: -0.5 if token == "m" else -1.0,
                        latency_s=args.latency) as server:
        job = JobSpec.model_validate(build(tmp, server.url, args.limit, args.replicas, args.concurrency))
        start = time.perf_counter()
        outcome = run_job(job, progress=False)
        wall = time.perf_counter() - start
        requests = len(server.requests)
    benchmark = job.benchmarks[0].name
    judgments = pq.read_table(Path(outcome.output) / "judgments" / f"{benchmark}.parquet").to_pylist()
    window = max(j["judged_at"] for j in judgments) - min(j["judge_sent_at"] for j in judgments)
    return {"workload": name, "status": outcome.result["status"], "judgments": len(judgments),
            "http_requests": requests, "judge_errors": sum(1 for j in judgments if j["judge_error"]),
            "wall_s": round(wall, 2), "judging_window_s": round(window, 2),
            "judgments_per_s": round(len(judgments) / window, 1) if window > 0 else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="AlpacaEval instructions (MT-Bench: limit/8 per "
                                                                "category); default: all")
    parser.add_argument("--latency", type=float, default=0.05, help="mock judge latency per request, seconds")
    parser.add_argument("--replicas", type=int, default=2, help="judge actors")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight per judge actor")
    parser.add_argument("--tag", default="", help="suffix of the result file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="evalray-judge-bench-") as tmp:
        for name, build in (("alpaca_eval", alpaca_job), ("mt_bench_pairwise_all", mt_job)):
            path = Path(tmp) / name
            path.mkdir()
            rows.append(run(name, build, args, path))
            print(json.dumps(rows[-1]))
    out = ROOT / "benchmarks" / "results" / f"judge_throughput{'-' + args.tag if args.tag else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "settings": vars(args), "host": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                         "load_avg": os.getloadavg()},
        "peers": {"evalscope": "not measured: not installed in this environment"}, "results": rows}, indent=2) + "\n")
    print(f"{'workload':<24}{'judgments':>10}{'requests':>10}{'wall s':>9}{'window s':>10}{'judg/s':>9}")
    for r in rows:
        print(f"{r['workload']:<24}{r['judgments']:>10}{r['http_requests']:>10}{r['wall_s']:>9}"
              f"{r['judging_window_s']:>10}{r['judgments_per_s'] or '-':>9}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
