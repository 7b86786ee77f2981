"""Every benchmark of the library in one job, with a ``replay`` model that answers with the gold outputs.

    python benchmarks/all_benchmarks_replay.py [--out DIR] [--wrong] [--limit N]

It writes ``<benchmark>.jsonl`` replay files built from the real data in ../shared/data, runs the job through
``evalray.pipeline.runner.run_job`` on a local Ray, checks that every benchmark's overall scores are exactly 1.0
(0.0 with ``--wrong``) with n equal to the MANIFEST counts, and prints the wall-clock time.

Recorded on this machine (2 cores shared with other engineers' jobs, load average 25-30 during the run; local Ray),
full data, 20 benchmarks, 59,676 samples, every checked score exactly 1.0 with n = the MANIFEST counts:

    2026-11-23  292.3 s  (204 samples/s)  status completed
    2026-11-23  279.4 s  (214 samples/s)  --wrong: every checked score exactly 0.0

(HumanEval and MBPP run 664 programs in the sandbox; MATH's 5,500 answers go through math-verify.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

def build_replay(directory: Path, wrong: bool, limit: int | None) -> dict[str, int]:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec
    from tests.data.test_oracle_benchmarks import COUNTS, DATA, gold_output, wrong_output

    directory.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, (folder, _) in COUNTS.items():
        bench = registry.get(name)
        samples = bench.load(BenchmarkSpec(name=name, data_dir=str(DATA / folder), limit=limit))
        make = wrong_output if wrong else gold_output
        with open(directory / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for sample in samples:
                f.write(json.dumps({"id": sample.id, "output": make(name, sample)}, ensure_ascii=False) + "\n")
        counts[name] = len(samples)
    # IFEval has no gold outputs: replay one fixed answer (its scores are not checked, only that it runs)
    ifeval = registry.get("ifeval").load(BenchmarkSpec(name="ifeval", data_dir=str(DATA / "ifeval"), limit=limit))
    with open(directory / "ifeval.jsonl", "w", encoding="utf-8") as f:
        for sample in ifeval:
            f.write(json.dumps({"id": sample.id, "output": "here is my answer, in lower case."}) + "\n")
    counts["ifeval"] = len(ifeval)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="output directory (default: a temporary one)")
    parser.add_argument("--wrong", action="store_true", help="replay all-wrong outputs (every score must be 0.0)")
    parser.add_argument("--limit", type=int, default=None, help="first N samples of each subset")
    parser.add_argument("--num-cpus", type=int, default=None)
    args = parser.parse_args()

    from evalray.job.loader import build_job
    from evalray.pipeline.runner import run_job
    from tests.data.test_oracle_benchmarks import COUNTS, DATA

    work = Path(args.out or tempfile.mkdtemp(prefix="evalray-allbench-"))
    counts = build_replay(work / "replay", args.wrong, args.limit)
    job = build_job({
        "name": "all-benchmarks-replay",
        "output": str(work / "run"),
        "models": [{"name": "oracle", "backend": "replay", "source": str(work / "replay"), "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": name, "data_dir": str(DATA / folder), **({"limit": args.limit} if args.limit else {})}
                       for name, (folder, _) in [*COUNTS.items(), ("ifeval", ("ifeval", 541))]],
        "ray": {"num_cpus": args.num_cpus} if args.num_cpus else {},
    })
    start = time.perf_counter()
    outcome = run_job(job, progress=False)
    elapsed = time.perf_counter() - start

    expected = 0.0 if args.wrong else 1.0
    failures = []
    for row in outcome.result["scores"]:
        if row["subset"] is None and row.get("level") == "overall" and row["benchmark"] != "ifeval":
            if row["value"] != expected:
                failures.append(f"{row['benchmark']} {row['metric']} = {row['value']}")
            if args.limit is None and row.get("n") != counts[row["benchmark"]]:
                failures.append(f"{row['benchmark']} {row['metric']} n = {row['n']} != {counts[row['benchmark']]}")
    if args.limit is None:
        for name, (_, manifest) in COUNTS.items():
            if counts[name] != manifest:
                failures.append(f"{name}: {counts[name]} samples, MANIFEST says {manifest}")
    total = sum(counts.values())
    print(f"{len(counts)} benchmarks, {total} samples, status {outcome.result['status']}: {elapsed:.1f} s "
          f"({total / elapsed:.0f} samples/s); output in {work / 'run'}")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures or outcome.result["status"] != "completed" else 0


if __name__ == "__main__":
    raise SystemExit(main())
