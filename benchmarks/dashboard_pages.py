"""Time the dashboard's sample viewer on a 14,042-row MMLU run: every page must answer in under a second.

    python benchmarks/dashboard_pages.py [--run DIR] [--rebuild] [--repeats 5]

It builds (once; reused afterwards) a real replay run of all of MMLU's test items from ../shared/data/mmlu (a replay
model answering ``ANSWER: X``, right on about 60% of the items), starts ``evalray dashboard`` over it as its own
process, and times real HTTP requests of the sample viewer (HTML pages and the JSON API): the first request (which
reads and indexes the 14,042-row Parquet file), then each page ``--repeats`` times. It prints a table, writes
``benchmarks/results/dashboard_pages.md`` and exits non-zero when a page takes a second or more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = (ROOT / ".." / "shared" / "data" / "mmlu").resolve()
DEFAULT_RUN = ROOT / "benchmarks" / "results" / "tmp" / "dashboard-mmlu"
RESULTS = ROOT / "benchmarks" / "results" / "dashboard_pages.md"
LIMIT_S = 1.0
LETTERS = "ABCD"

PAGES = [
    ("first page (cold: reads the file)", "/samples/{run}?model=replay&benchmark=mmlu"),
    ("first page", "/samples/{run}?model=replay&benchmark=mmlu"),
    ("page 200 of 562", "/samples/{run}?model=replay&benchmark=mmlu&page=200"),
    ("last page, 100 per page", "/samples/{run}?model=replay&benchmark=mmlu&size=100&page=141"),
    ("incorrect items", "/samples/{run}?model=replay&benchmark=mmlu&status=incorrect"),
    ("one subset, incorrect, page 2", "/samples/{run}?model=replay&benchmark=mmlu&subset=professional_law"
                                      "&status=incorrect&page=2"),
    ("text search", "/samples/{run}?model=replay&benchmark=mmlu&q=photosynthesis"),
    ("text search + incorrect", "/samples/{run}?model=replay&benchmark=mmlu&q=the%20following&status=incorrect"),
    ("JSON API, 100 rows", "/api/samples/{run}?model=replay&benchmark=mmlu&size=100&page=50"),
]
OTHER_PAGES = [("run page (57-subject breakdown chart; not a sample-viewer page)", "/run/{run}")]


def build_run(out: Path) -> None:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    samples = registry.get("mmlu").load(BenchmarkSpec(name="mmlu", data_dir=str(DATA)))
    assert len(samples) == 14042, len(samples)
    out.parent.mkdir(parents=True, exist_ok=True)
    replay = out.parent / "dashboard-mmlu-replay.jsonl"
    with open(replay, "w", encoding="utf-8") as f:
        for i, sample in enumerate(samples):
            answer = int(sample.target) if i % 5 < 3 else (int(sample.target) + 1) % 4
            f.write(json.dumps({"id": sample.id, "output": f"Reasoning about it.\nANSWER: {LETTERS[answer]}"}) + "\n")
    job = out.parent / "dashboard-mmlu.yaml"
    job.write_text(json.dumps({
        "name": "dashboard-mmlu", "output": str(out),
        "models": [{"name": "replay", "backend": "replay", "source": str(replay), "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": "mmlu", "data_dir": str(DATA), "mode": "generate"}],
    }))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "evalray.cli.main", "run", str(job), "-q"], cwd=ROOT, check=True)
    print(f"built {out} in {time.perf_counter() - started:.1f} s")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str, pid: int | None = None) -> tuple[float, int, float]:
    """Wall seconds, bytes and the server's CPU seconds of one request."""
    cpu = _cpu_s(pid) if pid else 0.0
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        size = len(response.read())
    wall = time.perf_counter() - started
    return wall, size, (_cpu_s(pid) - cpu) if pid else 0.0


def _free_port() -> int:
    from tests.conftest import free_port

    return free_port()


def time_pages(run: Path, repeats: int) -> list[dict]:
    port = _free_port()
    root, rel = run.parent, run.name
    process = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "dashboard", "--runs", str(root),
                                "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                _get(f"{base}/api/runs")
                time.sleep(1.0)  # let start-up finish before measuring
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        rows = []
        for index, (label, path) in enumerate(PAGES + OTHER_PAGES):
            url = base + path.format(run=rel)
            times, cpus, size = [], [], 0
            for _ in range(1 if index == 0 else repeats):
                seconds, size, cpu = _get(url, process.pid)
                times.append(seconds)
                cpus.append(cpu)
            rows.append({"page": label, "median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000,
                         "cpu_ms": statistics.median(cpus) * 1000, "kib": size / 1024, "requests": len(times)})
        return rows
    finally:
        process.terminate()
        process.wait(timeout=20)


def report(rows: list[dict], run: Path) -> str:
    rows_count = json.loads((run / "result.json").read_text())["counts"][0]["samples"]
    load = os.getloadavg()
    lines = ["# Dashboard sample viewer: page times on a 14,042-row MMLU run", "",
             f"`python benchmarks/dashboard_pages.py` on {time.strftime('%Y-%m-%d')}: a replay run of all of MMLU "
             f"({rows_count} samples, one Parquet file), `evalray dashboard` as its own process, real HTTP requests "
             f"from another process; {os.cpu_count()} CPUs shared with other jobs (load average {load[0]:.1f}), "
             f"Python {platform.python_version()}. Limit: {LIMIT_S:.0f} s per page.", "",
             "Server CPU is the dashboard process's user + system time per request (10 ms clock ticks): what a page "
             "costs when the machine is not shared.", "",
             "| page | median (ms) | max (ms) | server CPU (ms) | size (KiB) | requests |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['page']} | {row['median_ms']:.1f} | {row['max_ms']:.1f} | {row['cpu_ms']:.0f} | "
                     f"{row['kib']:.1f} | {row['requests']} |")
    worst = max(r["max_ms"] for r in rows[: len(PAGES)])
    lines += ["", f"Slowest sample-viewer request: {worst:.1f} ms "
              f"({'under' if worst < LIMIT_S * 1000 else 'OVER'} the limit)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=str(DEFAULT_RUN), help="the MMLU run directory (built when absent)")
    parser.add_argument("--rebuild", action="store_true", help="build the run again")
    parser.add_argument("--repeats", type=int, default=5, help="requests per page after the first")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/dashboard_pages.md")
    args = parser.parse_args()
    run = Path(args.run).resolve()
    if args.rebuild or not (run / "result.json").is_file():
        if not DATA.is_dir():
            print(f"real data not available: {DATA}", file=sys.stderr)
            return 2
        build_run(run)
    rows = time_pages(run, args.repeats)
    text = report(rows, run)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text, encoding="utf-8")
    return 0 if all(r["max_ms"] < LIMIT_S * 1000 for r in rows[: len(PAGES)]) else 1


if __name__ == "__main__":
    sys.exit(main())
