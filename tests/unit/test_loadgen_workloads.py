"""The perf workloads without a server: length distributions, trace parsers (generic, Azure, Mooncake), replay times,
shared prefixes and sessions made with the tokenizer, and the workload block of a perf job."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from evalray.errors import ConfigError
from evalray.job.perf_spec import PerfJobSpec
from evalray.job.perf_workload import Distribution, parse_distribution
from evalray.loadgen.lengths import draw, empirical_values
from evalray.loadgen.tokens import exact_text, load_tokenizer
from evalray.loadgen.trace import read_trace, replay_times
from evalray.loadgen.workloads import plan_point, plan_workload

TARGET = {"url": "http://127.0.0.1:1/v1", "model": "m"}


def dist(text) -> Distribution:
    return Distribution.model_validate(parse_distribution(text))


@pytest.mark.parametrize("text, low, high, mean", [
    ("128", 128, 128, 128), ("uniform:10,20", 10, 20, 15), ("normal:100,30,min=50,max=150", 50, 150, 100),
    ("lognormal:200,0.5,max=5000", 1, 5000, 200)])
def test_distributions_are_seeded_bounded_and_have_their_mean(text, low, high, mean):
    values = draw(dist(text), 20_000, np.random.default_rng(3))
    assert values.dtype == np.int64 and values.min() >= low and values.max() <= high
    assert values.mean() == pytest.approx(mean, rel=0.03)
    assert np.array_equal(values, draw(dist(text), 20_000, np.random.default_rng(3)))  # same seed, same draws
    if low != high:
        assert not np.array_equal(values, draw(dist(text), 20_000, np.random.default_rng(4)))
        assert values.min() == low or text.startswith("lognormal")  # clipping reaches the bound


def test_empirical_distribution_draws_only_the_file_values(tmp_path):
    file = tmp_path / "lengths.txt"
    file.write_text("# prompt lengths\n12\n\n40\n7\n")
    values = draw(dist(f"empirical:{file}"), 1000, np.random.default_rng(0))
    assert set(values.tolist()) == {7, 12, 40}
    seconds = draw(dist({"dist": "uniform", "low": 0.5, "high": 1.5}), 100, np.random.default_rng(0), integer=False)
    assert seconds.dtype == np.float64 and 0.5 <= seconds.min() and seconds.max() <= 1.5
    bad = tmp_path / "bad_lengths.txt"
    bad.write_text("12\nabc\n")
    with pytest.raises(ConfigError, match=r"bad_lengths.txt line 2: expected a number"):
        empirical_values(str(bad))


@pytest.mark.parametrize("bad, message", [
    ("normal:3", "normal needs std"), ("weird:3", "unknown distribution"), ("uniform:9,2", "low must not exceed"),
    ({"dist": "fixed", "value": 3, "std": 1}, "takes no std")])
def test_bad_distributions_are_one_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        dist(bad)


@pytest.mark.parametrize("tokenizer", ["whitespace", "builtin:tiny-llama"])
def test_exact_token_counts_and_prefixes(tokenizer):
    tok = load_tokenizer(tokenizer)
    rng = np.random.default_rng(0)
    for length in (1, 7, 64, 300):
        assert len(tok.encode(exact_text(tok, length, rng))) == length
    prefix = exact_text(tok, 50, rng)
    text = exact_text(tok, 9, rng, prefix=prefix)
    assert len(tok.encode(text)) == 59 and tok.encode(text)[:50] == tok.encode(prefix)


def test_shared_prefix_prompts_share_exactly_the_prefix_per_group():
    spec = PerfJobSpec(target=TARGET, prompts={"tokenizer": "builtin:tiny-llama"},
                       workload={"type": "shared_prefix", "groups": 3, "prefix_tokens": 40,
                                 "suffix_tokens": "uniform:5,15", "prompts_per_group": 4, "output_tokens": 8})
    tok = load_tokenizer("builtin:tiny-llama")
    prompts = plan_workload(spec).prompts
    assert len(prompts) == 12
    ids = [tok.encode(p.text) for p in prompts]
    assert [len(i) for i in ids] == [p.prompt_tokens for p in prompts]
    assert all(45 <= p.prompt_tokens <= 55 and p.max_tokens == 8 for p in prompts)
    heads = [tuple(i[:40]) for i in ids]
    assert len(set(heads)) == 3 and all(heads[p] == heads[p % 3] for p in range(12))  # prompt p is in group p % 3
    for group in range(3):  # the group shares exactly 40 tokens: its 41st tokens are not all equal
        assert len({i[40] for i in ids[group::3]}) > 1
    assert [p.text for p in plan_workload(spec).prompts] == [p.text for p in prompts]  # seeded


def test_synthetic_and_multi_turn_plans():
    synthetic = PerfJobSpec(target=TARGET, workload={"type": "synthetic", "input_tokens": "normal:30,10,min=5",
                                                     "output_tokens": "uniform:2,6", "prompts": 50})
    prompts = plan_workload(synthetic).prompts
    assert all(len(p.text.split()) == p.prompt_tokens >= 5 and 2 <= p.max_tokens <= 6 for p in prompts)
    sessions = PerfJobSpec(target=TARGET, load={"concurrency": [2]},
                           workload={"type": "multi_turn", "sessions": 5, "turns": "uniform:1,4", "pool": 30,
                                     "input_tokens": 6, "think_time_s": "uniform:0.1,0.2"})
    plan = plan_workload(sessions)
    assert len(plan.sessions) == 30 and {len(s.turns) for s in plan.sessions} == {1, 2, 3, 4}
    assert all(len(text.split()) == 6 for s in plan.sessions for text, _ in s.turns)
    assert all(0.1 <= t <= 0.2 for s in plan.sessions for t in s.think_s)
    slices = plan_point(plan, sessions, plan.points[0], 2, 0)
    assert sum(s.count for s in slices) == 5 and sum(s.users for s in slices) == 2  # sessions are the unit


def test_sharegpt_conversations_become_sessions(tmp_path):
    file = tmp_path / "chats.json"
    file.write_text(json.dumps([{"conversations": [
        {"from": "human", "value": "hello there"}, {"from": "gpt", "value": "one two three four"},
        {"from": "human", "value": "and then"}, {"from": "gpt", "value": "five six"}]}]))
    spec = PerfJobSpec(target=TARGET, workload={"type": "multi_turn", "conversations": str(file)})
    (session,) = plan_workload(spec).sessions
    assert session.turns == [("hello there", 4), ("and then", 2)]  # max_tokens: the token count of the file's answer


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_trace_layouts(tmp_path):
    generic = read_trace(_write(tmp_path / "g.jsonl", "\n".join(json.dumps(r) for r in [
        {"timestamp": 10.5, "input_tokens": 5, "output_tokens": 2, "session_id": "a"},
        {"timestamp": 10.0, "input_tokens": 7, "output_tokens": 3, "prompt": "own prompt"}])))
    assert generic.layout == "generic" and generic.times.tolist() == [0.0, 0.5]  # sorted, from the first row
    assert generic.input_tokens.tolist() == [7, 5] and generic.prompts == ["own prompt", None]
    assert generic.sessions == [None, "a"]
    azure = read_trace(_write(tmp_path / "azure.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                              "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n"))
    assert azure.layout == "azure" and azure.times[1] == pytest.approx(4.314579, abs=1e-6)
    assert azure.input_tokens.tolist() == [374, 396] and azure.output_tokens.tolist() == [44, 109]
    mooncake = read_trace(_write(tmp_path / "m.jsonl", "\n".join(json.dumps(r) for r in [
        {"timestamp": 0, "input_length": 20, "output_length": 4, "hash_ids": [1, 2, 3]},
        {"timestamp": 1500, "input_length": 12, "output_length": 5, "hash_ids": [1, 4]}])))
    assert mooncake.layout == "mooncake" and mooncake.times.tolist() == [0.0, 1.5]  # milliseconds
    assert mooncake.hash_ids == [[1, 2, 3], [1, 4]]


def test_trace_speed_and_truncation(tmp_path):
    rows = "\n".join(json.dumps({"timestamp": 2 * i, "input_tokens": 3, "output_tokens": 1}) for i in range(100))
    trace = read_trace(_write(tmp_path / "t.jsonl", rows))
    assert replay_times(trace, 2.0).tolist() == [float(i) for i in range(100)]  # twice as fast: gaps halved
    assert replay_times(trace, 0.5)[:3].tolist() == [0.0, 4.0, 8.0]
    assert replay_times(trace, 1.0, max_duration_s=10).tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert len(read_trace(str(tmp_path / "t.jsonl"), max_requests=7)) == 7


@pytest.mark.parametrize("name, text, where", [
    ("bad.jsonl", '{"timestamp": 1, "input_length": 2, "output_length": 3}\n{"timestamp": 2, "input_length": "x", '
     '"output_length": 3}\n', "bad.jsonl line 2: input_length must be a whole number"),
    ("bad.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,1,2\nyesterday,3,4\n",
     "bad.csv line 3: TIMESTAMP must be a number or a date-time"),
    ("short.csv", "timestamp,input_tokens,output_tokens\n1,2\n", "short.csv line 2: missing output_tokens"),
    ("broken.jsonl", '{"timestamp": 1, "input_tokens": 2, "output_tokens": 3}\n{"timestamp": 2,\n',
     "broken.jsonl line 2: not a JSON object"),
    ("neg.jsonl", '{"timestamp": 1, "input_tokens": -2, "output_tokens": 3}\n', "neg.jsonl line 1: input_tokens"),
    ("other.csv", "a,b\n1,2\n", "other.csv: unknown trace layout")])
def test_a_malformed_trace_row_is_one_error_naming_file_and_line(tmp_path, name, text, where):
    with pytest.raises(ConfigError) as error:
        read_trace(_write(tmp_path / name, text))
    assert where in str(error.value) and "\n" not in str(error.value)


def test_trace_plan_renders_rows_and_shares_mooncake_blocks(tmp_path):
    rows = [{"timestamp": 0, "input_length": 20, "output_length": 4, "hash_ids": [1, 2, 3]},
            {"timestamp": 100, "input_length": 14, "output_length": 6, "hash_ids": [1, 2, 9]},
            {"timestamp": 250, "input_length": 5, "output_length": 1, "hash_ids": [7]}]
    file = _write(tmp_path / "m.jsonl", "\n".join(json.dumps(r) for r in rows))
    spec = PerfJobSpec(target=TARGET, workload={"type": "trace", "file": file, "speed": [1, 2], "block_tokens": 8})
    plan = plan_workload(spec)
    words = [p.text.split() for p in plan.prompts]
    assert [len(w) for w in words] == [20, 14, 5] and [p.max_tokens for p in plan.prompts] == [4, 6, 1]
    assert words[1] == words[0][:14] and words[2] != words[0][:5]  # blocks 1 and 2 shared, block 7 its own
    assert plan.replay[2.0].tolist() == [0.0, 0.05, 0.125]
    slices = plan_point(plan, spec, plan.points[1], 2, 0)
    assert [s.intended.tolist() for s in slices] == [[0.0, 0.125], [0.05]]


def test_workload_block_rules():
    with pytest.raises(ValueError, match="counts sessions"):
        PerfJobSpec(target=TARGET, load={"num_requests": 5}, workload={"type": "multi_turn"})
    with pytest.raises(ValueError, match="trace's timestamps"):
        PerfJobSpec(target=TARGET, load={"rate": [5]}, workload={"type": "trace", "file": os.devnull})
    assert PerfJobSpec(target=TARGET, workload={"type": "trace", "file": "t", "speed": 2}).workload.speed == [2.0]


def test_trace_session_ids_number_sessions_and_turns():
    from evalray.loadgen.records import records_to_table
    from evalray.loadgen.workload_metrics import session_metrics
    from evalray.loadgen.workloads import WorkloadPlan, trace_sessions, with_trace_sessions
    from evalray.types import RequestRecord

    rows = trace_sessions(["a", None, "b", "a"])
    assert rows.tolist() == [[0, 0, 2], [1, 0, 1], [2, 0, 1], [0, 1, 2]]  # (session, turn, session_turns)
    assert trace_sessions([None, None]) is None
    records = [RequestRecord(request_id=i, worker=0, intended_send=i, actual_send=i, chunk_times=[], end=i + 0.5,
                             status=200 if i != 2 else 500, error=None if i != 2 else "http_500", prompt_tokens=1,
                             completion_tokens=1, chunks=0) for i in range(4)]
    table = with_trace_sessions(records_to_table(records), WorkloadPlan([], [], trace_sessions=rows))
    assert table["session"].to_pylist() == [0, 1, 2, 0] and table["turn"].to_pylist() == [0, 0, 0, 1]
    figures = session_metrics(table)
    assert figures["sessions"] == 3 and figures["completed"] == 2  # session 2's only request failed
    assert figures["duration_ms"]["max"] == 3500.0  # session 0: sent at 0, its second row ended at 3.5
