"""The fleet past one process: evalray perf with 1, 2 and 4 Ray workers (and one in-process loop) against nginx's
static 16-token SSE stream, in the same run as wrk (the machine's HTTP ceiling) and EvalScope perf where it is
installed (/work/venv-peers, as in perf_vs_peers.py).

nginx runs with 1 and then 2 worker processes; every tool is measured against both, and the summary quotes the
configuration where wrk is fastest ("the fastest local server configuration"). Per run: requests/s as the tool
reports it, CPU seconds of the tool's process tree per 1,000 requests (marginal over a 100-request run of the same
tool, so start-up is not counted), and the ratio to wrk in the same nginx configuration. The load average is
recorded before and after: the machine is shared, so only ratios within this run mean anything.

    python benchmarks/fleet_scaling.py [--concurrency 256] [--seconds 8] [--workers 1,2,4]

Writes benchmarks/results/fleet_scaling.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf_vs_peers as peers  # noqa: E402  (same directory: the nginx body, the measuring and the tool commands)

RESULTS = peers.RESULTS


def start_nginx(workdir: Path, processes: int) -> subprocess.Popen:
    """perf_vs_peers' nginx, with ``processes`` worker processes."""
    process = peers.start_nginx(workdir)
    process.terminate()
    process.wait(timeout=10)
    conf = (workdir / "nginx.conf").read_text().replace("worker_processes 1;", f"worker_processes {processes};")
    (workdir / "nginx.conf").write_text(conf)
    process = subprocess.Popen(["nginx", "-c", str(workdir / "nginx.conf"), "-p", str(workdir)])
    time.sleep(1.0)
    if process.poll() is not None:
        raise SystemExit("nginx did not start")
    return process


def tools(workers: list[int]) -> list[peers.Tool]:
    chosen = [peers.Tool("evalray-local", peers.evalray_command(0), peers.evalray_parse, 15000)]
    chosen += [peers.Tool(f"evalray-ray{w}", peers.evalray_command(w), peers.evalray_parse, 15000) for w in workers]
    chosen += [t for t in peers.tools() if t.name in ("evalscope", "wrk") and t.available()]
    return chosen


def _run(tool: peers.Tool, concurrency: int, requests: int, work: Path) -> dict:
    """One run, once more if it failed (on a loaded machine Ray's start can time out)."""
    entry = peers.run_tool(tool, concurrency, requests, work)
    if entry.get("req_per_s") is None:
        shutil.rmtree(work / f"{tool.name}-{concurrency}-{requests}", ignore_errors=True)
        entry = {**peers.run_tool(tool, concurrency, requests, work), "retried": entry.get("error")}
    return entry


def measure_tool(tool: peers.Tool, concurrency: int, seconds: float, work: Path) -> dict:
    baseline = _run(tool, 64, 100, work) if tool.name != "wrk" else {"cpu_s": 0.0}
    entry = _run(tool, concurrency, peers.request_count(tool, concurrency, seconds), work)
    done = entry.get("ok") or entry["requests"]
    marginal = entry["cpu_s"] - baseline["cpu_s"]
    counted = done - 100 if tool.name != "wrk" else done
    entry["cpu_s_per_1k"] = round(1000 * marginal / counted, 3) if counted > 0 else None
    return entry


def table(entries: list[dict], configs: list[int]) -> list[str]:
    lines = ["| tool | " + " | ".join(f"nginx×{n} req/s | CPU-s/1k | ÷ wrk" for n in configs) + " |",
             "|---|" + "---|---|---|" * len(configs)]
    by = {(e["tool"], e["nginx_workers"]): e for e in entries}
    for name in dict.fromkeys(e["tool"] for e in entries):
        cells = []
        for n in configs:
            e, wrk = by.get((name, n), {}), by.get(("wrk", n), {})
            ratio = e.get("req_per_s") / wrk["req_per_s"] if e.get("req_per_s") and wrk.get("req_per_s") else None
            cells += [str(e.get("req_per_s", "-")), str(e.get("cpu_s_per_1k", "-")),
                      f"{ratio:.2f}" if ratio else "-"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=8.0, help="target length of each measured run")
    parser.add_argument("--workers", default="1,2,4", help="Ray worker counts")
    parser.add_argument("--nginx", default="1,2", help="nginx worker-process counts")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",") if w]
    configs = [int(n) for n in args.nginx.split(",") if n]
    work = Path(tempfile.mkdtemp(prefix="evalray-fleet-bench-"))
    load_before = os.getloadavg()
    entries: list[dict] = []
    for processes in configs:
        nginx = start_nginx(work, processes)
        try:
            for tool in tools(workers):
                entry = measure_tool(tool, args.concurrency, args.seconds, work)
                entry.update(nginx_workers=processes, load_avg=round(os.getloadavg()[0], 2))
                entries.append(entry)
                print(json.dumps(entry), flush=True)
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
    load_after = os.getloadavg()
    wrk_best = max((e for e in entries if e["tool"] == "wrk" and e.get("req_per_s")), key=lambda e: e["req_per_s"],
                   default=None)
    lines = table(entries, configs)
    print("\n".join(lines))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    missing = [name for name in ("evalscope", "wrk") if not any(e["tool"] == name for e in entries)]
    document = {"created": stamp, "concurrency": args.concurrency, "seconds": args.seconds,
                "machine": {"cpus": os.cpu_count(), "load_avg_before": load_before, "load_avg_after": load_after},
                "target": f"nginx static SSE ({peers.OUTPUT_TOKENS} tokens) on 127.0.0.1",
                "fastest_nginx_workers": wrk_best["nginx_workers"] if wrk_best else None,
                "not_installed": missing, "runs": entries}
    (RESULTS / "fleet_scaling.json").write_text(json.dumps(document, indent=2) + "\n")
    note = f"Not installed on this machine (not measured): {', '.join(missing)}.\n\n" if missing else ""
    (RESULTS / "fleet_scaling.md").write_text(
        f"# evalray fleet scaling ({stamp})\n\nTarget: {document['target']}, concurrency {args.concurrency}, about "
        f"{args.seconds:g} s per run; {os.cpu_count()} CPUs shared with other jobs, load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after (per run in the JSON). CPU-s/1k = CPU seconds "
        "of the tool's process tree per 1,000 requests (marginal over a 100-request run); ÷ wrk = the tool's req/s "
        "over wrk's against the same nginx configuration in this run. Fastest nginx configuration for wrk: "
        f"{document['fastest_nginx_workers']} worker process(es).\n\n{note}" + "\n".join(lines) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
