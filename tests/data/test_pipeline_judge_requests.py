"""The judge-request actor without Ray: pairwise requests are emitted when the second answer of an item arrives
(both orders), single grading at once, errored answers are never judged, and a judge never judges itself unless
``self_judging`` is set."""

from __future__ import annotations

from evalray import rows
from evalray.benchmarks import registry
from evalray.job.spec import JobSpec
from evalray.pipeline.judging import JudgeRequests
from evalray.types import Generation
from tests.conftest import shared_data


def job(mode: str, judge_name: str = "judge", self_judging: bool = False) -> JobSpec:
    data = shared_data("arena_hard")
    return JobSpec.model_validate({
        "name": "t", "models": [{"name": m, "backend": "replay", "source": "x"} for m in ("base", "gpt")],
        "judges": [{"name": judge_name, "backend": "replay", "source": "x"}],
        "benchmarks": [{"name": "arena_hard", "data_dir": str(data), "subsets": ["arena-hard-v0.1"], "limit": 2,
                        "arena": {"mode": mode, "baseline": "base", "self_judging": self_judging}}]})


def answered(spec: JobSpec, model: str, index: int, text: str, error: str | None = None):
    entry = spec.benchmarks[0]
    sample, request, mode = list(registry.get("arena_hard").requests(entry, True, 0))[index]
    row = {**rows.request_row(sample, request, model, mode), **rows.judge_defaults(), "answered_at": 1.0}
    gen = Generation(texts=[text], error=error)
    return rows.append_generations(rows.table_from_rows([row]), [gen], "actor", "node")


def test_pairs_are_emitted_when_both_answers_are_there_in_both_orders():
    spec = job("pairwise_baseline")
    actor = JudgeRequests(spec.model_dump_json(), [("arena_hard", 0)], record=True)
    first = actor(answered(spec, "gpt", 0, "gpt answer")).to_pylist()
    assert [r["judge"] for r in first] == [""]  # only the answer record: no pair yet
    second = actor(answered(spec, "base", 0, "base answer")).to_pylist()
    games = [r for r in second if r["judge"]]
    assert sorted(r["judge_game"] for r in games) == [1, 2]
    one = next(r for r in games if r["judge_game"] == 1)
    two = next(r for r in games if r["judge_game"] == 2)
    assert one["model"] == "gpt" and one["opponent"] == "base"
    assert one["judge_prompt"].index("gpt answer") < one["judge_prompt"].index("base answer")  # gpt in position A
    assert two["judge_prompt"].index("base answer") < two["judge_prompt"].index("gpt answer")  # swapped
    assert one["kind"] == "skip" and one["judge_request_kind"] == "generate" and one["judge_sent_at"] >= 1.0
    assert not [r for r in actor(answered(spec, "base", 0, "again")).to_pylist() if r["judge"]]  # once per item


def test_errored_answers_are_not_judged():
    spec = job("pairwise_baseline")
    actor = JudgeRequests(spec.model_dump_json(), [("arena_hard", 0)], record=True)
    actor(answered(spec, "gpt", 1, "", error="HTTP 500"))
    out = actor(answered(spec, "base", 1, "fine")).to_pylist()
    assert [r["judge"] for r in out] == [""]


def test_a_judge_does_not_judge_itself_unless_asked():
    spec = job("pairwise_baseline", judge_name="gpt")
    actor = JudgeRequests(spec.model_dump_json(), [("arena_hard", 0)], record=True)
    actor(answered(spec, "gpt", 0, "x"))
    assert not [r for r in actor(answered(spec, "base", 0, "y")).to_pylist() if r["judge"]]
    spec = job("pairwise_baseline", judge_name="gpt", self_judging=True)
    actor = JudgeRequests(spec.model_dump_json(), [("arena_hard", 0)], record=True)
    actor(answered(spec, "gpt", 0, "x"))
    assert len([r for r in actor(answered(spec, "base", 0, "y")).to_pylist() if r["judge"]]) == 2
