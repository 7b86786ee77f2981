"""How exactly evalray perf measures: open loop at 1,000 req/s against the mock server with a known time to first token
and time per output token; prints measured minus injected TTFT/TPOT at p50/p99 and the achieved rate.

    python benchmarks/perf_accuracy.py [--rate 1000] [--seconds 10] [--ttft-ms 50] [--tpot-ms 5] [--workers 0]

``--workers 0`` runs one in-process worker; N > 0 uses N Ray actors. Writes benchmarks/results/perf_accuracy_<rate>rps.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evalray.testing.process import mock_server_process  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--tpot-ms", type=float, default=5.0)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--server-processes", type=int, default=1)
    parser.add_argument("--nice", type=int, default=0, help="niceness of the mock server and the load generator "
                        "(e.g. -10 on a machine shared with other jobs; needs privileges)")
    args = parser.parse_args()
    requests = int(args.rate * args.seconds)
    out = Path(tempfile.mkdtemp(prefix="evalray-perf-accuracy-"))
    fleet = ["--local"] if args.workers == 0 else ["--workers", str(args.workers)]
    server = ("--ttft-ms", str(args.ttft_ms), "--tpot-ms", str(args.tpot_ms), "--processes", str(args.server_processes))
    with mock_server_process(*server, nice=args.nice) as url:
        command = [sys.executable, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock",
                   "--rate", str(args.rate), "-n", str(requests), "--warmup", str(int(args.rate)),
                   "--max-tokens", str(args.tokens), "--input-tokens", "32", "--no-html", "--no-progress",
                   "-o", str(out), *fleet]
        subprocess.run(command, check=True, capture_output=True, text=True,
                       preexec_fn=(lambda: os.nice(args.nice)) if args.nice else None)
    run = json.loads((out / "perf.json").read_text())["runs"][0]
    rows = []
    for key, truth in (("ttft_ms", args.ttft_ms), ("tpot_ms", args.tpot_ms)):
        for stat in ("p50", "p99"):
            rows.append({"metric": f"{key[:-3]} {stat}", "measured_ms": run[key][stat], "injected_ms": truth,
                         "error_ms": round(run[key][stat] - truth, 3)})
    summary = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rate": args.rate,
               "achieved_rate": run["achieved_rate"], "request_throughput": run["request_throughput"],
               "requests": run["requests"], "ok": run["ok"], "errors": run["errors"], "queue_ms": run["queue_ms"],
               "workers": args.workers, "server_processes": args.server_processes, "nice": args.nice,
               "load_avg": os.getloadavg(),
               "rows": rows}
    lines = [f"# perf accuracy at {args.rate:g} req/s ({summary['created']})", "",
             f"achieved rate {run['achieved_rate']:.1f} req/s ({100 * (run['achieved_rate'] / args.rate - 1):+.2f}%), "
             f"{run['ok']}/{run['requests']} ok, queue p99 {run['queue_ms']['p99']} ms, "
             f"load average {os.getloadavg()[0]:.1f}, niceness {args.nice}", "", "| metric | injected ms | measured ms | error ms |",
             "|---|---|---|---|"]
    lines += [f"| {r['metric']} | {r['injected_ms']} | {r['measured_ms']} | {r['error_ms']:+.3f} |" for r in rows]
    print("\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"perf_accuracy_{args.rate:g}rps"
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
