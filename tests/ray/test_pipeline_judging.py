"""Judged benchmarks end to end on Ray: replay models answer, scripted judges answer through an OpenAI-compatible
server on 127.0.0.1, and the results equal hand computations of the reference formulas (FastChat show_result)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evalray.job.spec import JobSpec
from evalray.pipeline.runner import run_job
from evalray.testing.judge_server import ScriptedServer
from tests.conftest import shared_data

MT_SUBSETS = ["writing", "math"]  # math uses the reference-answer judge prompts
LIMIT = 3


def mt_questions(data: Path) -> list[dict]:
    rows = [json.loads(line) for line in (data / "fastchat/llm_judge/data/mt_bench/question.jsonl").open()]
    out = []
    for cat in MT_SUBSETS:
        out += [r for r in rows if r["category"] == cat][:LIMIT]
    return out


def write_replay(path: Path, questions: list[dict], tag: str) -> str:
    with path.open("w") as f:
        for q in questions:
            f.write(json.dumps({"id": str(q["question_id"]), "output": [f"<{tag}-{q['question_id']}-t1>",
                                                                          f"<{tag}-{q['question_id']}-t2>"]}) + "\n")
    return str(path)


def rating_for(tag: str, qid: int, turn: int) -> int:
    return 1 + (qid * 7 + turn * 3 + (5 if tag == "alpha" else 0)) % 10


def answer_tags(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(1), int(m.group(2)), int(m.group(3))) for m in re.finditer(r"<(\w+)-(\d+)-t(\d)>", text)]


def mt_job(tmp_path: Path, data: Path, judges: list[dict], mode: str = "single", **arena) -> JobSpec:
    qs = mt_questions(data)
    models = [{"name": tag, "backend": "replay", "source": write_replay(tmp_path / f"{tag}.jsonl", qs, tag),
               "resources": {"num_cpus": 0.1}} for tag in ("alpha", "beta")]
    return JobSpec.model_validate({
        "name": "mt", "output": str(tmp_path / "out"), "models": models, "judges": judges,
        "benchmarks": [{"name": "mt_bench", "data_dir": str(data), "subsets": MT_SUBSETS, "limit": LIMIT,
                        "arena": {"mode": mode, "bootstrap": 50, **arena}}]})


def judge_spec(url: str, name: str = "judge", **extra) -> dict:
    return {"name": name, "backend": "openai", "source": url, "chat": True, "max_retries": 1, "concurrency": 8,
            "resources": {"num_cpus": 0.1}, **extra}


def single_reply(messages):
    text = messages[-1]["content"]
    # the judged answer of the last turn is the last tag in the conversation shown to the judge
    tag, qid, turn = answer_tags(text)[-1]
    return f"Explanation... Rating: [[{rating_for(tag, qid, turn)}]]"


def test_mt_bench_single_equals_fastchat_formula_and_turn2_sees_turn1(ray_session, tmp_path):
    data = shared_data("mt_bench")
    # a panel of two judges, each with its own pool: the second one's stage must not disturb the first one's verdicts
    with ScriptedServer(single_reply) as server, ScriptedServer(single_reply) as second:
        outcome = run_job(mt_job(tmp_path, data, [judge_spec(server.url), judge_spec(second.url, name="judge2")]),
                          progress=False)
        prompts = server.judged_texts()
        assert sorted(second.judged_texts()) == sorted(prompts)
    result = outcome.result
    assert result["status"] == "completed", result.get("error")
    qs = mt_questions(data)
    # FastChat show_result (single): mean score per (model, turn), and the mean over every judged turn
    for tag in ("alpha", "beta"):
        t1 = [rating_for(tag, q["question_id"], 1) for q in qs]
        t2 = [rating_for(tag, q["question_id"], 2) for q in qs]
        got = {(r["metric"], r["subset"]): r for r in result["scores"] if r["model"] == tag}
        assert got[("score_turn1", None)]["value"] == pytest.approx(sum(t1) / len(t1))
        assert got[("score_turn2", None)]["value"] == pytest.approx(sum(t2) / len(t2))
        assert got[("score", None)]["value"] == pytest.approx((sum(t1) + sum(t2)) / (len(t1) + len(t2)))
        assert got[("score", None)]["n"] == 2 * len(qs)
        for cat in MT_SUBSETS:
            cat_scores = [rating_for(tag, q["question_id"], t) for q in qs if q["category"] == cat for t in (1, 2)]
            assert got[("score", cat)]["value"] == pytest.approx(sum(cat_scores) / len(cat_scores))
    # turn-2 judge prompts show the model's own turn-1 answer, and math uses the reference answer
    multi = [p for p in prompts if "### User:" in p]
    assert len(multi) == 2 * len(qs)
    for p in multi:
        tags = answer_tags(p)
        assert [t[2] for t in tags] == [1, 2] and tags[0][:2] == tags[1][:2]
    assert sum("reference answer" in p.lower() for p in prompts) == 2 * 2 * LIMIT  # math: 2 models x 2 turns
    judgments = pq.read_table(Path(outcome.output) / "judgments" / "mt_bench.parquet").to_pylist()
    assert len(judgments) == 2 * 2 * 2 * len(qs) and all(j["judge_error"] is None for j in judgments)
    assert {j["judge"] for j in judgments} == {"judge", "judge2"}
    agreement = result["arena"][0]["agreement"]
    assert agreement["percent_agreement"] == 1.0 and agreement["krippendorff_alpha"] == 1.0
    assert agreement["items"] == 2 * 2 * len(qs)


def order_dependent_reply(messages):
    """Even question ids: always prefers position A (a pure position bias). Odd ids: prefers alpha wherever it is,
    except on turn 2 of ids divisible by 3, where it prefers whatever is in position B."""
    text = messages[-1]["content"]
    tags = answer_tags(text)
    qid, turn = tags[0][1], tags[-1][2]
    a_model = tags[0][0]  # the first answer shown is assistant A's
    if qid % 2 == 0:
        return "[[A]]"
    if turn == 2 and qid % 3 == 0:
        return "[[B]]"
    return "[[A]]" if a_model == "alpha" else "[[B]]"


def test_mt_bench_pairwise_counts_equal_fastchat_and_position_bias_gives_ties(ray_session, tmp_path):
    data = shared_data("mt_bench")
    with ScriptedServer(order_dependent_reply) as server:
        outcome = run_job(mt_job(tmp_path, data, [judge_spec(server.url)], mode="pairwise_all"), progress=False)
    result = outcome.result
    assert result["status"] == "completed", result.get("error")
    # FastChat show_result: per (question, turn) g1 (alpha in A) and g2 (beta in A); the same winner -> that winner,
    # else a tie; win_rate = wins / (wins + losses + ties), adjusted = (wins + ties / 2) / total
    counts = {"alpha": defaultdict(int), "beta": defaultdict(int)}
    for q in mt_questions(data):
        for turn in (1, 2):
            def winner(a, b, qid=q["question_id"], turn=turn):
                msg = [{"role": "user", "content": f"<{a}-{qid}-t1> <{b}-{qid}-t{turn}>"}]
                verdict = order_dependent_reply(msg)
                return a if verdict == "[[A]]" else b
            g1, g2 = winner("alpha", "beta"), winner("beta", "alpha")
            if g1 != g2:
                counts["alpha"]["tie"] += 1
                counts["beta"]["tie"] += 1
            else:
                counts[g1]["win"] += 1
                counts["beta" if g1 == "alpha" else "alpha"]["loss"] += 1
    got = {(r["model"], r["metric"]): r for r in result["scores"] if r["subset"] is None}
    for model, c in counts.items():
        total = c["win"] + c["loss"] + c["tie"]
        assert got[(model, "win_rate")]["value"] == pytest.approx(c["win"] / total)
        assert got[(model, "loss_rate")]["value"] == pytest.approx(c["loss"] / total)
        assert got[(model, "tie_rate")]["value"] == pytest.approx(c["tie"] / total)
        assert got[(model, "win_rate_adjusted")]["value"] == pytest.approx((c["win"] + 0.5 * c["tie"]) / total)
        assert got[(model, "win_rate")]["n"] == total
    # the position-biased items (even ids) are ties after the swap, never a win or a loss
    judgments = pq.read_table(Path(outcome.output) / "judgments" / "mt_bench.parquet").to_pylist()
    biased = [j for j in judgments if int(j["id"]) % 2 == 0]
    assert biased and all(j["verdict"] == "A" for j in biased)
    samples = pq.read_table(Path(outcome.output) / "samples" / "alpha" / "mt_bench.parquet").to_pylist()
    for row in samples:
        if int(row["id"]) % 2 == 0:
            assert row["scores"]["win_rate"] is None or True  # lists are pooled; check through the counts above
    arena = result["arena"][0]
    assert arena["mode"] == "pairwise_all" and {r["model"] for r in arena["ratings"]} == {"alpha", "beta"}
    assert {"model_a", "model_b", "p_value"} <= set(result["comparisons"][0])


def flaky_five_level(messages):
    """Arena-Hard judge: 10% of prompts get an unparsable reply, 5% an HTTP 500 (every attempt), the rest [[A>B]]."""
    import hashlib

    bucket = int(hashlib.sha256(messages[-1]["content"].encode()).hexdigest(), 16) % 20
    if bucket in (0, 1):
        return "I cannot decide."
    if bucket == 2:
        return 500
    return "My final verdict is: [[A>B]]"


def test_arena_hard_fail_closed_and_streaming(ray_session, tmp_path):
    """Unparsable replies and HTTP 500s are judge errors (counted, excluded, status partial); judge requests start
    before the slow model's last answer arrives."""
    import hashlib

    data = shared_data("arena_hard")
    questions = [json.loads(line) for line in (data / "data/arena-hard-v0.1/question.jsonl").open()][:24]
    base = tmp_path / "base.jsonl"
    base.write_text("".join(json.dumps({"id": q["uid"], "output": f"base answer {i}"}) + "\n"
                            for i, q in enumerate(questions)))
    with ScriptedServer(lambda m: "slow answer: " + m[-1]["content"][:40], latency_s=0.25) as model_server, \
            ScriptedServer(flaky_five_level) as judge_server:
        job = JobSpec.model_validate({
            "name": "ah", "output": str(tmp_path / "out"),
            "models": [{"name": "base", "backend": "replay", "source": str(base), "resources": {"num_cpus": 0.1}},
                       {"name": "slow", "backend": "openai", "source": model_server.url, "chat": True,
                        "concurrency": 1, "batch_size": 1, "resources": {"num_cpus": 0.1}}],
            "judges": [judge_spec(judge_server.url, max_retries=1)],
            "benchmarks": [{"name": "arena_hard", "data_dir": str(data), "subsets": ["arena-hard-v0.1"],
                            "limit": len(questions), "arena": {"baseline": "base", "bootstrap": 50}}]})
        outcome = run_job(job, progress=False)
        replies = [body["messages"][-1]["content"] for _, body in judge_server.requests]
    result = outcome.result
    prompts = set(replies)
    buckets = {p: int(hashlib.sha256(p.encode()).hexdigest(), 16) % 20 for p in prompts}
    unparsable = sum(1 for b in buckets.values() if b in (0, 1))
    failed = sum(1 for b in buckets.values() if b == 2)
    assert len(prompts) == 2 * len(questions)  # both games of every prompt were asked
    errors = result["judge_errors"]
    assert sum(e["unparsable"] for e in errors) == unparsable and sum(e["failed"] for e in errors) == failed
    assert sum(e["errors"] for e in errors) == unparsable + failed > 0
    assert result["status"] == "partial"
    # the rest is scored: every good game is a battle, the model wins game 1 ([[A>B]], it is A) and loses game 2
    good = 2 * len(questions) - unparsable - failed
    assert result["arena"][0]["battles"] == good
    rows = {(r["model"], r["metric"]): r for r in result["scores"] if r["subset"] is None}
    assert rows[("slow", "win_rate")]["n"] == good
    assert 0 < rows[("slow", "score")]["value"] < 1
    judgments = pq.read_table(Path(outcome.output) / "judgments" / "arena_hard.parquet").to_pylist()
    assert sum(1 for j in judgments if j["judge_error"]) == unparsable + failed
    assert all(j["verdict_value"] is None for j in judgments if j["judge_error"])
    # samples are credited to the model actors that answered them, not to the judge's actors
    model_actors = {a["actor_id"] for a in result["actors"] if a["model"] == "slow"}
    assert model_actors and not model_actors & {j["served_by"] for j in judgments}
    assert sum(a["samples"] for a in result["actors"] if a["model"] == "slow") == len(questions)
    # streaming: the first judge request (and verdict) came before the slow model's last answer
    answered = max(j["answered_at"] for j in judgments)
    assert min(j["judge_sent_at"] for j in judgments) < answered
    assert min(j["judged_at"] for j in judgments) < answered


def alpaca_logprob(context: str, token: str) -> float:
    """The weighted annotator's token log-probs: the token naming the candidate's output gets 0.7 (of the two)."""
    import math

    outputs = dict(re.findall(r'"model_identifier": "(m|M)",\s*"output": """(.*?)"""', context, re.DOTALL))
    return math.log(0.7) if outputs[token].startswith("cand") else math.log(0.3)


def test_alpaca_eval_weighted_annotator_from_logprobs(ray_session, tmp_path):
    data = shared_data("alpaca_eval")
    n = 10
    same = {0, 5}  # identical outputs: a draw, no judge call
    (tmp_path / "cand.jsonl").write_text("".join(
        json.dumps({"id": str(i), "output": "same" if i in same else f"cand {'x' * (i * 40)}"}) + "\n"
        for i in range(n)))
    (tmp_path / "base.jsonl").write_text("".join(
        json.dumps({"id": str(i), "output": "same" if i in same else f"base {i}"}) + "\n" for i in range(n)))
    with ScriptedServer(lambda m: "unused", logprob=alpaca_logprob) as server:
        job = JobSpec.model_validate({
            "name": "ae", "output": str(tmp_path / "out"),
            "models": [{"name": m, "backend": "replay", "source": str(tmp_path / f"{m}.jsonl"),
                        "resources": {"num_cpus": 0.1}} for m in ("base", "cand")],
            "judges": [judge_spec(server.url, chat=False)],
            "benchmarks": [{"name": "alpaca_eval", "data_dir": str(data), "limit": n,
                            "arena": {"baseline": "base", "bootstrap": 20}}]})
        outcome = run_job(job, progress=False)
        asked = len(server.requests)
    result = outcome.result
    assert result["status"] == "completed", result.get("error")
    assert asked == 2 * 2 * (n - len(same))  # two games x two tokens per judged instruction, none for identical ones
    rows = {r["metric"]: r for r in result["scores"] if r["model"] == "cand" and r["subset"] is None}
    expected = [0.5 if i in same else 0.7 for i in range(n)]
    assert rows["win_rate"]["value"] == pytest.approx(sum(expected) / n)
    assert rows["discrete_win_rate"]["value"] == pytest.approx(sum(0.5 if i in same else 1.0 for i in range(n)) / n)
    assert 0 < rows["lc_win_rate"]["value"] < 1
    assert result["arena"][0]["length_controlled"]["difficulty_source"] == "none"


def test_gsm8k_auto_strategy_asks_the_judge_only_where_the_rule_finds_no_answer(ray_session, tmp_path):
    data = shared_data("gsm8k")
    items = [json.loads(line) for line in (data / "test.jsonl").open()][:6]
    targets = [it["answer"].split("####")[-1].strip() for it in items]
    # even items: a number the rule reads (right for 0 and 4, wrong for 2); odd items: words only
    outputs = {0: f"ANSWER: {targets[0]}", 2: "ANSWER: -1", 4: f"ANSWER: {targets[4]}",
               1: "the answer is right-in-words", 3: "the answer is wrong-in-words", 5: "the answer is right-in-words"}
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"id": str(i), "output": o}) + "\n"
                                              for i, o in outputs.items()))
    reply = (lambda m: "[[CORRECT]]" if "right-in-words" in m[-1]["content"] else "[[INCORRECT]]")
    with ScriptedServer(reply) as server:
        job = JobSpec.model_validate({
            "name": "auto", "output": str(tmp_path / "out"),
            "models": [{"name": "m", "backend": "replay", "source": str(tmp_path / "m.jsonl"),
                        "resources": {"num_cpus": 0.1}}],
            "judges": [judge_spec(server.url)],
            "benchmarks": [{"name": "gsm8k", "data_dir": str(data), "limit": 6, "judge": {"strategy": "auto"}}]})
        outcome = run_job(job, progress=False)
        asked = server.judged_texts()
    result = outcome.result
    assert result["status"] == "completed", result.get("error")
    assert len(asked) == 3 and all("[Reference Answer]" in text for text in asked)
    row = next(r for r in result["scores"] if r["metric"] == "exact_match" and r["subset"] is None)
    assert row["value"] == pytest.approx(4 / 6) and row["n"] == 6  # 0, 4 by the rule; 1, 5 by the judge
    samples = {r["id"]: r for r in pq.read_table(Path(outcome.output) / "samples/m/gsm8k.parquet").to_pylist()}
    assert samples["1"]["extracted"] == "judge" and samples["0"]["extracted"] == targets[0]
