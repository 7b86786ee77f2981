"""The perf workloads against `evalray mock-server` in a subprocess (which records what it received: GET
/debug/requests): multi-turn sessions carry the answers the server streamed, shared-prefix requests share exactly P
tokens per group, and a trace of 1,000 arrivals replays on schedule at 200 req/s (or the run reports the slip)."""

from __future__ import annotations

import json
import os
import time
import subprocess
import sys
import urllib.request

import numpy as np
import pyarrow.parquet as pq
import pytest

from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.runner import run_perf_job
from evalray.loadgen.tokens import load_tokenizer
from evalray.testing.process import mock_server_process
from tests.cli.test_loadgen_engine import _high_priority


def _received(url: str) -> list[dict]:
    with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/debug/requests", timeout=10) as answer:
        return json.load(answer)["requests"]


def _run(url: str, out, **job) -> dict:
    spec = PerfJobSpec.model_validate({"target": {"url": url, "model": "mock"}, "fleet": {"local": True},
                                       "output": str(out), "html": False, "progress": False, **job})
    return json.loads((run_perf_job(spec, None) / "perf.json").read_text())["runs"][0]


@pytest.mark.parametrize("stream", [True, False])
def test_multi_turn_sessions_send_the_growing_conversation(tmp_path, stream):
    """Turn k of a session carries k-1 assistant messages, each exactly the answer the server gave that session's
    earlier turn (answers are unique: a<N> tok tok ...)."""
    with mock_server_process("--ttft-ms", "2", "--tpot-ms", "1", "--record-requests", "1000",
                             "--unique-answers") as url:
        run = _run(url, tmp_path, target={"url": url, "model": "mock", "stream": stream}, load={"concurrency": [3]},
                   workload={"type": "multi_turn", "sessions": 6, "turns": "uniform:2,4", "input_tokens": 5,
                             "output_tokens": 3, "think_time_s": 0.02})
        received = _received(url)
    answer_of = {json.dumps(r["body"]["messages"]): r["answer"] for r in received}
    by_turn: dict[int, int] = {}
    for request in received:
        messages = request["body"]["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2) + ["user"]
        for j in range(1, len(messages), 2):  # every earlier answer is the one the server sent for that turn
            assert messages[j]["content"] == answer_of[json.dumps(messages[:j])]
        by_turn[len(messages) // 2] = by_turn.get(len(messages) // 2, 0) + 1
    assert len(set(answer_of.values())) == len(received)  # the answers differ, so a stale one would be caught
    assert by_turn[0] == by_turn[1] == 6 and sum(by_turn.values()) == len(received) == run["requests"]
    assert run["ok"] == run["requests"] and run["sessions"]["completed"] == 6
    assert run["sessions"]["turns_completed"]["total"] == len(received)
    assert [t["turn"] for t in run["turns"]] == sorted(by_turn) and run["turns"][0]["requests"] == 6
    assert run["turns"][1]["prompt_tokens_mean"] == 5 + 3 + 5  # the mock counts the words of every message
    if stream:
        assert run["turns"][0]["ttft_ms"]["p50"] >= 2.0
    assert run["sessions"]["duration_ms"]["min"] >= 20.0  # at least one think time


def test_shared_prefix_requests_share_exactly_p_tokens_per_group(tmp_path):
    tokenizer = load_tokenizer("builtin:tiny-llama")
    with mock_server_process("--record-requests", "100") as url:
        run = _run(url, tmp_path, prompts={"tokenizer": "builtin:tiny-llama"},
                   load={"concurrency": [4], "num_requests": 24},
                   workload={"type": "shared_prefix", "groups": 3, "prefix_tokens": 32, "suffix_tokens":
                             "uniform:4,12", "prompts_per_group": 4, "output_tokens": 2})
        received = _received(url)
    assert run["ok"] == 24 and len(received) == 24
    ids = [tokenizer.encode(r["body"]["messages"][0]["content"]) for r in received]
    groups: dict[tuple, list[list[int]]] = {}
    for tokens in ids:
        groups.setdefault(tuple(tokens[:32]), []).append(tokens)
    assert len(groups) == 3 and sorted(len(g) for g in groups.values()) == [8, 8, 8]
    for members in groups.values():  # the longest common prefix of each group is exactly 32 tokens
        assert len({tuple(m[:33]) for m in members}) > 1 and all(36 <= len(m) <= 44 for m in members)


def _slip_run(tmp_path) -> tuple[dict, np.ndarray]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    trace = tmp_path / "mooncake.jsonl"  # 1,000 arrivals 10 ms apart, replayed at speed 2: 200 req/s
    trace.write_text("".join(json.dumps({"timestamp": 10 * i, "input_length": 16, "output_length": 2,
                                         "hash_ids": [i % 4]}) + "\n" for i in range(1000)))
    with mock_server_process(nice=-10) as url, _high_priority():
        run = _run(url, tmp_path / "out", workload={"type": "trace", "file": str(trace), "speed": 2.0,
                                                    "block_tokens": 16})
    records = pq.read_table(tmp_path / "out" / "records.parquet")
    return run, records["actual_send"].to_numpy() - records["intended_send"].to_numpy()


def test_a_trace_replays_on_schedule_or_reports_the_slip(tmp_path):
    """1,000 trace arrivals at 200 req/s: the run reports the schedule slip (p50/p99/max of actual - scheduled send,
    equal to the records') and counts the sends more than 2 ms late, and on a machine that is not loaded 99% of sends
    are within 2 ms of their time. (Every send within 2 ms is the aim, but one preemption of a 2-core box is enough to
    miss it, so the worst send is checked by the report being exact, not by its value.) The CPU is shared: a disturbed
    run on a quiet machine is repeated once, and with a load average above the CPU count the test skips, naming the
    slip, instead of failing."""
    for attempt in range(2):
        run, slip = _slip_run(tmp_path / str(attempt))
        assert run["requests"] == run["ok"] == 1000 and run["speed"] == 2.0
        assert run["achieved_rate"] == pytest.approx(200.0, rel=0.02)
        reported = run["schedule_slip_ms"]
        assert reported["max"] == pytest.approx(slip.max() * 1000, abs=1e-3) and reported["p50"] >= 0
        assert reported["p99"] == pytest.approx(np.percentile(slip, 99) * 1000, abs=1e-3)
        assert run["late_sends"]["2ms"] == int((slip > 0.002).sum())
        load = os.getloadavg()[0]
        if reported["p99"] <= 2.0 or load > (os.cpu_count() or 1):  # on time, or no use repeating on a busy box
            break
    if reported["p99"] <= 2.0:
        return
    measured = f"slip p50 {reported['p50']:.3f} ms, p99 {reported['p99']:.3f} ms, max {reported['max']:.3f} ms"
    if load > (os.cpu_count() or 1):
        pytest.skip(f"machine too busy for a 2 ms schedule check (load average {load:.1f}): {measured}")
    pytest.fail(f"{run['late_sends']['2ms']} of 1000 sends more than 2 ms late: {measured}")


def test_perf_workload_flags(tmp_path):
    trace = tmp_path / "azure.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
        f"2023-11-16 18:15:{10 + i // 10:02d}.{i % 10}000000,{5 + i},3\n" for i in range(30)))
    with mock_server_process("--ttft-ms", "1") as url:
        done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--url", url, "--model", "mock",
                               "--trace", str(trace), "--speed", "4", "--max-requests", "20", "--local", "--no-html",
                               "--no-progress", "-o", str(tmp_path / "run")], capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    run = json.loads((tmp_path / "run" / "perf.json").read_text())["runs"][0]
    assert run["workload"] == "trace" and run["requests"] == run["ok"] == 20 and run["speed"] == 4.0
    assert run["prompt_tokens"] == sum(range(5, 25)) and "trace x4" in done.stdout
    assert run["duration_s"] == pytest.approx(1.9 / 4, abs=0.05)  # 20 rows 0.1 s apart, four times as fast


def test_sessions_arrive_at_a_rate_and_a_duration_ends_them(tmp_path):
    """Open loop: sessions (not requests) arrive at the rate, on completions too; a duration shorter than the
    sessions stops issuing, abandons sessions waiting out a think time and ends the run promptly."""
    with mock_server_process("--ttft-ms", "1", "--record-requests", "100", "--unique-answers") as url:
        run = _run(url, tmp_path / "open", target={"url": url + "/completions", "model": "mock"},
                   load={"rate": [50], "arrival": "constant"},
                   workload={"type": "multi_turn", "sessions": 10, "turns": 2, "input_tokens": 3, "output_tokens": 2})
        received = _received(url)
        first_turns = [r for r in received if r["body"]["prompt"].count("assistant:") == 1]
        started = time.monotonic()
        stopped = _run(url, tmp_path / "stopped", load={"concurrency": [2], "duration_s": 0.5},
                       workload={"type": "multi_turn", "sessions": 1000, "turns": 50, "think_time_s": 0.2})
        took = time.monotonic() - started
    assert run["requests"] == run["ok"] == 20 and run["sessions"]["completed"] == 10
    assert run["turns"][0]["requests"] == 10 and run["schedule_slip_ms"]["p50"] is not None
    records = pq.read_table(tmp_path / "open" / "records.parquet").to_pylist()
    starts = sorted(r["intended_send"] for r in records if r["turn"] == 0)
    assert np.diff(starts) == pytest.approx([0.02] * 9)  # session arrivals, 1/rate apart
    assert len(first_turns) == 10 and len(received) == 20  # "user: ...\nassistant:", then the answer and turn 2
    answers = {r["body"]["prompt"]: r["answer"] for r in first_turns}
    for second in (r for r in received if r not in first_turns):
        opening, _, rest = second["body"]["prompt"].partition("\nassistant: ")
        assert rest.startswith(answers[opening + "\nassistant:"])
    assert stopped["sessions"]["completed"] == 0 and 2 <= stopped["requests"] <= 12 and took < 20


def test_bad_workload_flags_and_rows_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,12,3\n2023-11-16 18:15:47,many,3\n")
    for args, message in ((["--turns", "3"], "--turns: a workload flag; choose the workload with --workload"),
                          (["--workload", "trace", "--trace", str(bad), "--groups", "2"], "takes no --groups"),
                          (["--trace", str(bad)], "bad.csv line 3: ContextTokens must be a whole number")):
        done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "perf", "--url", "http://127.0.0.1:1/v1",
                               "--model", "m", "--local", "-o", str(tmp_path / "out"), *args], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
