"""Your own datasets and a collection, end to end through run_job on a local Ray, in one job of two models:

* ``srv`` — the openai backend against FakeOpenAI (a base model): general_mcq by log-likelihood (the fake server's
  per-character log-probs make " A" the likeliest continuation, so exactly the rows whose answer is A are right),
  general_qa generated (the server answers each question's gold answer);
* ``rec`` — replay of recorded outputs (always generative): gold answers everywhere except ARC-Easy in the
  collection, which gets wrong letters; so the collection's per-component scores are 1, 1, 0.
"""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from evalray.benchmarks import registry
from evalray.benchmarks.base import LETTERS
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec
from evalray.pipeline.runner import run_job
from evalray.testing.fake_openai import FakeOpenAI
from tests.unit.test_benchmarks_collection import GSM8K, MMLU, write_arc

pytestmark = pytest.mark.timeout(600)

MCQ_CSV = ("question,A,B,C,D,answer\n"
           "What is 1+1?,2,3,4,5,A\nWhat is 2+2?,3,4,5,6,B\nWhat is 3+3?,6,7,,,0\nWhat is 4+4?,7,8,9,,C\n")
MCQ_JSONL = [{"id": "j1", "q": "Red or blue?", "options": ["red", "blue"], "gold": 0},
             {"id": "j2", "q": "Up or down?", "options": ["up", "down", "left"], "gold": "B"}]
QA_JSONL = [{"question": "Capital of France?", "answer": ["Paris", "paris city"]},
            {"question": "Half of one?", "answer": "1/2"}, {"question": "Color of the sky?", "answer": "blue"}]
COLLECTION = {"weights": [2, 1, 1], "size": 16, "seed": 5}


@pytest.fixture(scope="module")
def run(ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("general")
    (tmp / "quiz.csv").write_text(MCQ_CSV)
    (tmp / "quiz.jsonl").write_text("".join(json.dumps(r) + "\n" for r in MCQ_JSONL))
    (tmp / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in QA_JSONL))
    arc = {"name": "arc_easy", "data_dir": write_arc(tmp / "arc")}
    benchmarks = [
        {"name": "quiz_csv", "type": "general_mcq", "path": str(tmp / "quiz.csv")},
        {"name": "quiz_jsonl", "type": "general_mcq", "path": str(tmp / "quiz.jsonl"),
         "columns": {"question": "q", "choices": "options", "answer": "gold"}},
        {"name": "qa", "type": "general_qa", "path": str(tmp / "qa.jsonl"),
         "metrics": ["exact_match", "f1", "rougeL", "bleu", "math_equiv"]},
        {"name": "mix", "collection": {"benchmarks": [GSM8K, MMLU, arc], **COLLECTION}},
    ]
    replay = tmp / "replay"
    replay.mkdir()
    letters = {"quiz_csv": "ABAC", "quiz_jsonl": {"j1": "A", "j2": "B"}}
    (replay / "quiz_csv.jsonl").write_text("".join(json.dumps({"id": str(i), "output": f"ANSWER: {x}"}) + "\n"
                                                   for i, x in enumerate(letters["quiz_csv"])))
    (replay / "quiz_jsonl.jsonl").write_text("".join(json.dumps({"id": k, "output": f"ANSWER: {x}"}) + "\n"
                                                     for k, x in letters["quiz_jsonl"].items()))
    (replay / "qa.jsonl").write_text("".join(json.dumps({"id": str(i), "output": r["answer"][0] if isinstance(
        r["answer"], list) else r["answer"]}) + "\n" for i, r in enumerate(QA_JSONL)))
    lines = []
    for part in (GSM8K, MMLU, arc):
        for sample in registry.get(part["name"]).load(BenchmarkSpec(**part)):
            gold = sample.target if part is GSM8K else LETTERS[int(sample.target)]
            if part is arc:
                gold = LETTERS[(int(sample.target) + 1) % len(sample.choices)]  # wrong on purpose
            lines.append(json.dumps({"id": f"{part['name']}/{sample.id}", "output": f"ANSWER: {gold}"}) + "\n")
    (replay / "mix.jsonl").write_text("".join(lines))
    gold = {r["question"]: (r["answer"][0] if isinstance(r["answer"], list) else r["answer"]) for r in QA_JSONL}

    def answer(prompt: str) -> str:
        return next((g for q, g in gold.items() if q in prompt), "no idea")

    job = build_job({
        "name": "general", "output": str(tmp / "out"),
        "models": [{"name": "srv", "backend": "openai", "source": "URL", "replicas": 1,
                    "resources": {"num_cpus": 0.25}, "concurrency": 8},
                   {"name": "rec", "backend": "replay", "source": str(replay), "resources": {"num_cpus": 0.25}}],
        "benchmarks": benchmarks, "scoring": {"num_cpus": 0.25},
    })
    with FakeOpenAI(answer) as server:
        job.models[0].source = server.url
        outcome = run_job(job, progress=False)
    return outcome.result, tmp / "out"


def scores(result, model, benchmark, subset=None):
    return {r["metric"]: r["value"] for r in result["scores"]
            if r["model"] == model and r["benchmark"] == benchmark and r["subset"] == subset}


def test_general_mcq_and_qa_in_both_modes(run):
    result, out = run
    assert result["status"] == "completed", result.get("error")
    assert scores(result, "rec", "quiz_csv") == {"acc": 1.0}  # generate (replay): gold letters
    assert scores(result, "rec", "quiz_jsonl") == {"acc": 1.0}
    assert scores(result, "rec", "qa") == {m: 1.0 for m in ("exact_match", "f1", "rougeL", "bleu", "math_equiv")}
    assert scores(result, "srv", "qa")["exact_match"] == 1.0  # generated by the server: gold answers
    # log-likelihood: the rows whose answer is A (index 0) are the right ones, per sample
    csv = pd.read_parquet(out / "samples" / "srv" / "quiz_csv.parquet").set_index("id")
    assert set(csv["mode"]) == {"loglikelihood"}
    assert {i: len(x) for i, x in csv["loglikelihoods"].items()} == {"0": 4, "1": 4, "2": 2, "3": 3}  # one per choice
    assert {i: s["acc"] for i, s in csv["scores"].items()} == {"0": 1.0, "1": 0.0, "2": 1.0, "3": 0.0}
    assert scores(result, "srv", "quiz_jsonl") == {"acc": 0.5}
    jsonl = pd.read_parquet(out / "samples" / "rec" / "quiz_jsonl.parquet")
    assert sorted(jsonl["id"]) == ["j1", "j2"] and set(jsonl["mode"]) == {"generate"}


def test_collection_reports_each_component_and_the_overall_score(run):
    result, out = run
    rec = pd.read_parquet(out / "samples" / "rec" / "mix.parquet")
    assert Counter(rec["subset"]) == {"gsm8k": 8, "mmlu": 4, "arc_easy": 4}  # 2:1:1 of 16
    mix = registry.for_entry(BenchmarkSpec(**result["job"]["benchmarks"][3]))
    drawn = {f"{label}/{i}" for label, ids in mix.chosen(seed=0).items() for i in ids}
    assert set(rec["id"]) == drawn  # the seed's draw, whoever reads it
    assert {s: scores(result, "rec", "mix", s)["score"] for s in ("gsm8k", "mmlu", "arc_easy")} == {
        "gsm8k": 1.0, "mmlu": 1.0, "arc_easy": 0.0}
    overall = scores(result, "rec", "mix")
    assert overall["score"] == 0.75 and overall["score_macro"] == pytest.approx(2 / 3, abs=1e-6)
    levels = {r["subset"]: r["level"] for r in result["scores"] if r["model"] == "rec" and r["benchmark"] == "mix"}
    assert levels == {None: "overall", "gsm8k": "subset", "mmlu": "subset", "arc_easy": "subset"}
    assert {c["benchmark"]: c["samples"] for c in result["counts"] if c["model"] == "srv"}["mix"] == 16


def test_general_qa_scored_by_a_judge(ray_session, tmp_path):
    """``judge: {strategy: llm}`` on your own QA set: the job's judge decides correctness against the reference."""
    from evalray.testing.judge_server import ScriptedServer

    (tmp_path / "qa.csv").write_text("question,answer\nWho wrote Hamlet?,Shakespeare\nFirst prime?,2\nLargest ocean?,Pacific\n")
    outputs = ["It was William Shakespeare, I believe.", "three", "The Pacific, by far."]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({"id": str(i), "output": o}) + "\n" for i, o in enumerate(outputs)))

    def reply(messages):  # correct where the model's answer names the reference answer
        text = messages[-1]["content"]
        reference = text.split("[Reference Answer]")[1].split("[Model Answer]")[0].strip()
        return "[[CORRECT]]" if reference in text.split("[Model Answer]")[1] else "[[INCORRECT]]"

    with ScriptedServer(reply) as server:
        job = build_job({
            "name": "judged", "output": str(tmp_path / "out"),
            "models": [{"name": "m", "backend": "replay", "source": str(tmp_path / "m.jsonl"),
                        "resources": {"num_cpus": 0.25}}],
            "judges": [{"name": "judge", "backend": "openai", "source": server.url, "chat": True, "max_retries": 1,
                        "resources": {"num_cpus": 0.25}}],
            "benchmarks": [{"name": "mine", "type": "general_qa", "path": str(tmp_path / "qa.csv"),
                            "judge": {"strategy": "llm"}}]})
        outcome = run_job(job, progress=False)
        asked = len(server.requests)
    result = outcome.result
    assert result["status"] == "completed", result.get("error")
    assert asked == 3
    assert scores(result, "m", "mine")["exact_match"] == pytest.approx(2 / 3)  # the rule alone would give 0
