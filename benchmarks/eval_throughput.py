"""Evaluation throughput against a fast mock endpoint: evalray vs EvalScope vs lm-evaluation-harness.

Starts evalray's OpenAI-compatible mock server on 127.0.0.1 (every answer is ``--output-tokens`` tokens, no injected
latency), then runs each tool on MMLU (14,042 questions, generative, 0-shot) and GSM8K (1,319, 0-shot) through the
chat API, each benchmark as its own command, timed end to end (process start to exit: imports, data loading, Ray
start-up for evalray, requests, scoring, writing results). All tools send the same requests the same way: chat
completions, ``--concurrency`` requests in flight (evalray: ``replicas`` actors x ``concurrency/replicas``; lm-eval:
``num_concurrent``; EvalScope: ``eval_batch_size``), ``max_tokens`` = ``--max-tokens``, greedy, per-sample outputs
written to disk, and all read the same local files (/work/shared/data): evalray directly, lm-eval through task YAMLs
mirroring its ``mmlu_generative``/``gsm8k`` tasks, EvalScope through its own ``mmlu``/``gsm8k`` benchmarks over
hub-layout mirrors (see ``benchmarks/eval_peers/``). The peers live in their own virtual environment
(``--peers-venv``); a missing peer gives a row saying so.

CPU-s is the user+system CPU time of the tool's whole process tree (sampled from /proc every 0.2 s, so processes that
live less than that are missed), and ``server CPU-s`` that of the mock server during the run. The box is shared: the
load average is recorded before each run, and ratios are only quoted against a peer measured in the same run.

    python benchmarks/eval_throughput.py                      # full MMLU + GSM8K, all three tools
    python benchmarks/eval_throughput.py --limit 20 --tag quick   # 20 per MMLU subject (1,140) and 20 GSM8K items

Writes ``benchmarks/results/eval_throughput[-TAG].json`` and ``.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.eval_peers import evalscope_data, lmeval_tasks  # noqa: E402

TOOLS = ("evalray", "evalscope", "lm-eval")
BASELINE = "evalray-before"  # evalray from another source tree (--baseline-src), for before/after numbers
WARM = "evalray-warm"  # evalray on a long-lived `ray start` cluster (--warm-ray): the run without Ray's start and stop
EVALRAY_TOOLS = ("evalray", BASELINE, WARM)
PEERS = ("evalscope", "lm-eval")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- process-tree CPU accounting --------------------------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, user+system CPU seconds) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                raw = f.read().decode(errors="replace")
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return table


class TreeCPU:
    """CPU seconds of a process and all its descendants (also those re-parented after their parent exited, once seen),
    sampled in a background thread."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.seen: dict[int, float] = {}
        self.baseline: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self, baseline: bool = False) -> "TreeCPU":
        if baseline:  # count only CPU spent from now on (for a long-lived process such as the mock server)
            self._sample()
            self.baseline = dict(self.seen)
        self._thread.start()
        return self

    def _sample(self) -> None:
        table = _proc_table()
        members = {self.root} | set(self.seen)
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _) in table.items():
                if ppid in members and pid not in members:
                    members.add(pid)
                    changed = True
        for pid in members:
            if pid in table:
                self.seen[pid] = max(self.seen.get(pid, 0.0), table[pid][1])

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(v - self.baseline.get(pid, 0.0) for pid, v in self.seen.items())


def load_average() -> float:
    return os.getloadavg()[0]


# ---- data ---------------------------------------------------------------------------------------------------------------
def expected_samples(benchmark: str, data: Path, limit: int | None) -> int:
    if benchmark == "mmlu":
        total = 0
        for path in sorted((data / "mmlu/data/mmlu/test").glob("*_test.csv")):
            import csv

            with open(path, newline="", encoding="utf-8") as f:
                n = sum(1 for _ in csv.DictReader(f))
            total += min(n, limit) if limit else n
        return total
    with open(data / "gsm8k/test.jsonl", encoding="utf-8") as f:
        n = sum(1 for line in f if line.strip())
    return min(n, limit) if limit else n


# ---- mock server ---------------------------------------------------------------------------------------------------------
def evalray_cli() -> list[str]:
    exe = Path(sys.executable).with_name("evalray")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "evalray.cli.main"]


def start_mock(output_tokens: int, lifetime: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(evalray_cli() + ["mock-server", "--port", "0", "--output-tokens", str(output_tokens),
                                             "--lifetime", str(int(lifetime))],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line or "")
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # drain
            return proc, match.group(1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("mock server did not start")


# ---- commands ----------------------------------------------------------------------------------------------------------
def evalray_command(args, benchmark: str, url: str, work: Path, limit: int | None, tag: str) -> tuple[list[str], Path]:
    out = work / f"evalray-{benchmark}-{tag}"
    job = {
        "name": f"evalthroughput-{benchmark}",
        "models": [{
            "name": "mock", "backend": "openai", "source": url, "chat": True, "replicas": args.replicas,
            "resources": {"num_cpus": 0.25}, "concurrency": max(1, args.concurrency // args.replicas),
            "generation": {"max_tokens": args.max_tokens, "temperature": 0.0},
        }],
        "benchmarks": [{"name": benchmark, "data_dir": str(args.data / benchmark), "few_shot": 0,
                        "max_tokens": args.max_tokens, **({"mode": "generate"} if benchmark == "mmlu" else {}),
                        **({"limit": limit} if limit else {})}],
        "output": str(out),
    }
    path = work / f"evalray-{benchmark}-{tag}.json"  # JSON is YAML
    path.write_text(json.dumps(job, indent=1))
    phases = work / f"evalray-{benchmark}-{tag}.phases.json"
    command = [sys.executable, str(ROOT / "benchmarks/eval_peers/evalray_phases.py"), str(phases), "run", str(path), "-q"]
    return command, out


def evalray_warm_command(args, benchmark: str, url: str, work: Path, limit: int | None, tag: str) -> tuple[list[str], Path]:
    """The evalray command, joining the running cluster that :func:`run_one` started (``args.warm_address``)."""
    command, out = evalray_command(args, benchmark, url, work, limit, tag)
    return command + ["--address", args.warm_address], out


def lmeval_command(args, benchmark: str, url: str, work: Path, limit: int | None, tag: str) -> tuple[list[str], Path]:
    tasks = lmeval_tasks.write_tasks(work / "lmeval_tasks", args.data / "mmlu/data/mmlu/test",
                                     args.data / "gsm8k/test.jsonl", args.max_tokens)
    out = work / f"lmeval-{benchmark}-{tag}"
    command = [str(args.peers_venv / "bin/lm_eval"), "--model", "local-chat-completions", "--model_args",
               f"model=mock,base_url={url}/chat/completions,num_concurrent={args.concurrency},max_retries=3,"
               "tokenized_requests=False", "--apply_chat_template", "--include_path", str(work / "lmeval_tasks"),
               "--tasks", tasks[benchmark], "--output_path", str(out), "--log_samples"]
    if limit:
        command += ["--limit", str(limit)]
    return command, out


def evalscope_command(args, benchmark: str, url: str, work: Path, limit: int | None, tag: str) -> tuple[list[str], Path]:
    data_dir = work / "evalscope_data"
    if benchmark == "mmlu" and not (data_dir / "mmlu/README.md").exists():
        evalscope_data.build_mmlu(data_dir, args.data / "mmlu/data/mmlu/test")
    if benchmark == "gsm8k" and not (data_dir / "gsm8k/README.md").exists():
        evalscope_data.build_gsm8k(data_dir, args.data / "gsm8k/test.jsonl")
    out = work / f"evalscope-{benchmark}-{tag}"
    dataset_args = {benchmark: {"local_path": str(data_dir / benchmark), "few_shot_num": 0}}
    command = [str(args.peers_venv / "bin/evalscope"), "eval", "--model", "mock", "--api-url", url, "--api-key", "EMPTY",
               "--eval-type", "openai_api", "--datasets", benchmark, "--dataset-args", json.dumps(dataset_args),
               "--eval-batch-size", str(args.concurrency),
               "--generation-config", json.dumps({"max_tokens": args.max_tokens, "temperature": 0.0}),
               "--work-dir", str(out), "--no-timestamp"]
    if limit:
        command += ["--limit", str(limit)]
    return command, out


COMMANDS = {"evalray": evalray_command, BASELINE: evalray_command, WARM: evalray_warm_command, "lm-eval": lmeval_command,
            "evalscope": evalscope_command}


def stop_warm_ray() -> None:
    subprocess.run([str(Path(sys.executable).parent / "ray"), "stop", "--force"], capture_output=True, timeout=120)


def start_warm_ray(work: Path) -> str:
    """A `ray start --head` cluster on 127.0.0.1 with this machine's CPUs, given a few seconds to settle; its GCS
    address. Started before each evalray-warm run and stopped after it (untimed), so that its idle processes do
    not slow the other tools' runs."""
    # no token auth: the evalray runs connect as a local user of this machine would, without a token to hand
    env = dict(os.environ, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    port = 6390
    subprocess.run([str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1",
                    "--port", str(port), "--num-cpus", str(os.cpu_count()), "--include-dashboard", "false",
                    "--disable-usage-stats"], check=True, capture_output=True, env=env, cwd=str(work), timeout=300)
    time.sleep(5)
    return f"127.0.0.1:{port}"


def peer_missing(tool: str, args) -> str | None:
    exe = {"lm-eval": "lm_eval", "evalscope": "evalscope"}.get(tool)
    if exe and not (args.peers_venv / "bin" / exe).exists():
        return f"not installed ({args.peers_venv / 'bin' / exe} missing)"
    return None


def count_samples(tool: str, out: Path) -> tuple[int | None, int | None]:
    """(samples the tool reports as evaluated, errors) from its own output files."""
    try:
        if tool in EVALRAY_TOOLS:
            result = json.loads((out / "result.json").read_text())
            return sum(c["samples"] for c in result["counts"]), sum(c["errors"] for c in result["counts"])
        if tool == "lm-eval":
            files = sorted(out.rglob("results_*.json"))
            result = json.loads(files[-1].read_text())
            return sum(v["effective"] for v in result["n-samples"].values()), None
        if tool == "evalscope":
            return sum(sum(1 for _ in open(p)) for p in (out / "reviews").rglob("*.jsonl")), None
    except (OSError, ValueError, KeyError, IndexError):
        return None, None
    return None, None


def peer_env(args, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               HF_DATASETS_CACHE=str(args.cache / "hf_datasets"), MODELSCOPE_CACHE=str(args.cache / "modelscope"),
               EVALSCOPE_CACHE=str(args.cache / "evalscope"), OPENAI_API_KEY="EMPTY", PYTHONUNBUFFERED="1")
    env["PATH"] = f"{args.peers_venv / 'bin'}:{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return env


def run_one(args, tool: str, benchmark: str, url: str, server: subprocess.Popen, work: Path, limit: int | None,
            tag: str, expected: int) -> dict:
    row: dict = {"tool": tool, "benchmark": benchmark, "expected": expected}
    missing = peer_missing(tool, args)
    if missing:
        return {**row, "status": missing}
    if tool == WARM:
        args.warm_address = start_warm_ray(work)
        try:
            return _run_one(args, tool, benchmark, url, server, work, limit, tag, row)
        finally:
            stop_warm_ray()
    return _run_one(args, tool, benchmark, url, server, work, limit, tag, row)


def _run_one(args, tool: str, benchmark: str, url: str, server: subprocess.Popen, work: Path, limit: int | None,
             tag: str, row: dict) -> dict:
    expected = row["expected"]
    command, out = COMMANDS[tool](args, benchmark, url, work, limit, f"{tag}-{tool}")
    shutil.rmtree(out, ignore_errors=True)
    env = peer_env(args, work) if tool in PEERS else dict(os.environ, PYTHONUNBUFFERED="1")
    if tool == BASELINE:  # the driver and every Ray worker import evalray from the baseline tree first
        env["PYTHONPATH"] = f"{args.baseline_src}:{env.get('PYTHONPATH', '')}".rstrip(":")
    log = work / f"{tool}-{benchmark}-{tag}.log"
    row["load_before"] = round(load_average(), 2)
    server_cpu = TreeCPU(server.pid).start(baseline=True)
    started = time.perf_counter()
    with open(log, "w") as logf:
        proc = subprocess.Popen(command, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=str(work),
                                start_new_session=True)
        cpu = TreeCPU(proc.pid).start()
        try:
            code = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = "timeout"
    wall = time.perf_counter() - started
    row.update(wall_s=round(wall, 2), cpu_s=round(cpu.stop(), 1), server_cpu_s=round(server_cpu.stop(), 1),
               load_after=round(load_average(), 2), log=str(log))
    samples, errors = count_samples(tool, out)
    row.update(samples=samples, errors=errors)
    if code != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])[-300:]
        return {**row, "status": f"failed ({code}): {tail}"}
    if samples != expected:
        row["status"] = f"ok, but {samples} samples evaluated of {expected}"
    else:
        row["status"] = "ok"
    row["samples_per_s"] = round(expected / wall, 1)
    if tool in EVALRAY_TOOLS:
        phases_file = work / f"evalray-{benchmark}-{tag}-{tool}.phases.json"
        try:
            phases = json.loads(phases_file.read_text())["phases"]
            row["phases_s"] = {k: round(v, 2) for k, v in phases.items()}
            excl = wall - phases.get("ray_init", 0.0)
            row["wall_excl_ray_start_s"] = round(excl, 2)
            row["samples_per_s_excl_ray_start"] = round(expected / excl, 1)
        except (OSError, ValueError, KeyError):
            pass
    return row


# ---- report -------------------------------------------------------------------------------------------------------------
def add_ratios(rows: list[dict]) -> None:
    for benchmark in {r["benchmark"] for r in rows}:
        peers = [r for r in rows if r["benchmark"] == benchmark and r["tool"] in PEERS and r.get("samples_per_s")]
        best = max(peers, key=lambda r: r["samples_per_s"], default=None)
        for r in rows:
            if r["benchmark"] == benchmark and best and r.get("samples_per_s"):
                r["best_peer"] = best["tool"]
                r["ratio_vs_best_peer"] = round(r["samples_per_s"] / best["samples_per_s"], 2)
                if r.get("samples_per_s_excl_ray_start"):
                    r["ratio_excl_ray_start"] = round(r["samples_per_s_excl_ray_start"] / best["samples_per_s"], 2)


def table(rows: list[dict]) -> str:
    head = ("| tool | benchmark | samples | wall s | samples/s | ratio vs best peer | CPU-s (tool) | CPU-s (server) | "
            "load | status |")
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        if "wall_s" not in r:
            lines.append(f"| {r['tool']} | {r['benchmark']} | {r['expected']} | – | – | – | – | – | – | {r['status']} |")
            continue
        sps = r.get("samples_per_s", "–")
        ratio = f"{r['ratio_vs_best_peer']:.2f}×" if "ratio_vs_best_peer" in r else "–"
        if r["tool"] in EVALRAY_TOOLS and "samples_per_s_excl_ray_start" in r:
            sps = f"{sps} ({r['samples_per_s_excl_ray_start']} excl. Ray start)"
            if "ratio_excl_ray_start" in r:
                ratio += f" ({r['ratio_excl_ray_start']:.2f}×)"
        wall = r["wall_s"] if "wall_excl_ray_start_s" not in r else f"{r['wall_s']} ({r['wall_excl_ray_start_s']})"
        lines.append(f"| {r['tool']} | {r['benchmark']} | {r.get('samples', '?')} | {wall} | {sps} | {ratio} | "
                     f"{r['cpu_s']} | {r['server_cpu_s']} | {r['load_before']}→{r['load_after']} | {r['status']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmarks", nargs="+", default=["mmlu", "gsm8k"], choices=["mmlu", "gsm8k"])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=list(TOOLS))
    parser.add_argument("--limit", type=int, default=None,
                        help="quick run: the first N items per MMLU subject and of GSM8K (default: everything)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight, every tool")
    parser.add_argument("--replicas", type=int, default=2, help="evalray model actors (concurrency is split)")
    parser.add_argument("--max-tokens", type=int, default=256, help="max_tokens of every request")
    parser.add_argument("--output-tokens", type=int, default=16, help="tokens in every mock answer")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per tool and benchmark (best is kept)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds before one run is killed")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the untimed 1-item run of each tool (fills the peers' dataset caches)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--peers-venv", type=Path, default=Path("/work/venv-evalpeers"))
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "evalray-evalbench-cache")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, outputs)")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help=f"a directory holding another 'evalray' package (e.g. an older commit's): adds a "
                             f"'{BASELINE}' row run with it first on PYTHONPATH")
    parser.add_argument("--warm-ray", action="store_true",
                        help=f"adds a '{WARM}' row: evalray with --address on a `ray start --head` cluster of the same "
                             "CPUs, started (untimed) just before each of its runs and stopped after (a user running many "
                             "evaluations keeps one)")
    args = parser.parse_args()
    if args.baseline_src:
        args.tools = [BASELINE] + [t for t in args.tools if t != BASELINE]
    if args.warm_ray:
        args.tools = [t for t in args.tools if t != WARM] + [WARM]
    args.data = args.data.resolve()

    work = Path(tempfile.mkdtemp(prefix="evalray-evalbench-"))
    expected = {b: expected_samples(b, args.data, args.limit) for b in args.benchmarks}
    lifetime = args.timeout * len(args.tools) * len(args.benchmarks) * (args.repeats + 1) + 600
    server, url = start_mock(args.output_tokens, lifetime)
    print(f"mock server {url}; work dir {work}; load {load_average():.1f}", flush=True)
    rows: list[dict] = []
    try:
        if not args.no_warmup:
            for benchmark in args.benchmarks:
                for tool in args.tools:
                    if not peer_missing(tool, args):
                        r = run_one(args, tool, benchmark, url, server, work, 1, "warmup",
                                    expected_samples(benchmark, args.data, 1))
                        print(f"  warm-up {tool:9s} {benchmark:5s} {r.get('wall_s')} s {r['status'][:80]}", flush=True)
        for benchmark in args.benchmarks:
            for repeat in range(args.repeats):
                order = args.tools[repeat % len(args.tools):] + args.tools[: repeat % len(args.tools)]
                for tool in order:
                    r = run_one(args, tool, benchmark, url, server, work, args.limit, f"r{repeat}", expected[benchmark])
                    r["repeat"] = repeat
                    print(f"  {tool:9s} {benchmark:5s} wall {r.get('wall_s')} s, {r.get('samples_per_s')} samples/s, "
                          f"cpu {r.get('cpu_s')} s, load {r.get('load_before')}: {r['status'][:120]}", flush=True)
                    rows.append(r)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    best: dict[tuple[str, str], dict] = {}
    for r in rows:  # keep the fastest successful repeat of each tool and benchmark (or the last failure)
        key = (r["tool"], r["benchmark"])
        if key not in best or (r.get("samples_per_s") or 0) > (best[key].get("samples_per_s") or 0):
            best[key] = r
    final = [best[(t, b)] for b in args.benchmarks for t in args.tools if (t, b) in best]
    add_ratios(final)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host": platform.node(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "limit": args.limit,
        "concurrency": args.concurrency, "evalray_replicas": args.replicas, "max_tokens": args.max_tokens,
        "mock_output_tokens": args.output_tokens, "repeats": args.repeats, "warmup": not args.no_warmup,
        "git_head": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                   text=True).stdout.strip(),
    }
    text = table(final)
    print("\n" + text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "eval_throughput" + (f"-{args.tag}" if args.tag else "")
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": final, "all_runs": rows}, indent=1))
    md = [f"# Evaluation throughput vs a mock endpoint ({meta['date']})", "",
          f"{meta['cpus']} CPUs, concurrency {args.concurrency} (evalray: {args.replicas} actors), max_tokens "
          f"{args.max_tokens}, mock answers {args.output_tokens} tokens, limit {args.limit or 'none'}, "
          f"{args.repeats} timed run(s) each (fastest kept), warm-up {'on' if meta['warmup'] else 'off'}, "
          f"evalray at {meta['git_head']}. Wall time is the whole command; evalray's figure in brackets leaves out "
          "Ray start-up (`ray.init`). Load is the 1-minute load average before→after the run (shared box).", "", text, ""]
    (args.out / f"{stem}.md").write_text("\n".join(md))
    print(f"\nwrote {args.out / stem}.json and .md")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(r["status"].startswith("ok") or r["status"].startswith("not installed") for r in final) else 1


if __name__ == "__main__":
    sys.exit(main())
