"""The driver's reduce of judgments (no Ray): panels combine by median / majority, Arena-Hard's strong verdicts
weigh 3 battles, failed judgments never count, and style control fits with the answer-style covariates."""

from __future__ import annotations

import pytest

from evalray import rows
from evalray.job.spec import JobSpec
from evalray.pipeline.arena_results import reduce_judged
from evalray.pipeline.arena_summary import arena_blocks


def job(bench: dict) -> JobSpec:
    return JobSpec.model_validate({
        "name": "t", "models": [{"name": m, "backend": "replay", "source": "x"} for m in ("base", "tuned")],
        "judges": [{"name": j, "backend": "replay", "source": "x"} for j in ("j1", "j2", "j3")],
        "benchmarks": [bench]})


def answer(bench, model, uid, text, turn=0):
    return {**rows.judge_defaults(), "benchmark": bench, "model": model, "uid": f"{bench}::{uid}", "id": str(uid),
            "subset": "writing", "mode": "generate", "turn": turn, "answers": [text] if turn == 0 else ["t1", text]}


def judgment(bench, model, uid, judge, value, game=0, opponent="", weight=1.0, error=None, turn=0, label=None):
    row = answer(bench, model, uid, "x", turn)
    row.update(judge=judge, judge_game=game, opponent=opponent, verdict_value=None if error else value,
               verdict_weight=weight, judge_error=error, verdict=label or str(value))
    return row


def test_single_panel_median_and_majority():
    table = [answer("mt_bench", "tuned", 1, "a"), answer("mt_bench", "tuned", 1, "b", turn=1)]
    table += [judgment("mt_bench", "tuned", 1, j, v) for j, v in (("j1", 2.0), ("j2", 9.0), ("j3", 9.0))]
    table += [judgment("mt_bench", "tuned", 1, "j1", None, turn=1, error="unparsable rating verdict")]
    for how, expected in (("median", 9.0), ("majority", 9.0), ("mean", 20 / 3)):
        spec = job({"name": "mt_bench", "arena": {"mode": "single", "aggregate": how}})
        run = reduce_judged(spec, [rows.table_from_rows(table)])
        (sample,) = run.samples[("tuned", "mt_bench")]
        assert sample["scores"]["score_turn1"] == pytest.approx(expected)
        assert "score_turn2" not in sample["scores"] and sample["error"] is None  # turn 2 failed: excluded, not 0
        assert run.errors[0]["unparsable"] == 1 and run.errors[0]["errors"] == 1


def test_arena_hard_strong_verdicts_weigh_three_and_errors_are_no_battles():
    bench = "arena_hard"
    table = [answer(bench, m, u, f"{m} answer {u} " + "# head\n" * (u % 3)) for m in ("base", "tuned")
             for u in range(6)]
    for u in range(6):
        # game 1: tuned in A; A>>B (strong) for even items, B>A otherwise; game 2 fails on item 5
        table.append(judgment(bench, "tuned", u, "j1", 1.0 if u % 2 == 0 else 0.0, game=1, opponent="base",
                              weight=3.0 if u % 2 == 0 else 1.0))
        table.append(judgment(bench, "tuned", u, "j1", 0.5, game=2, opponent="base",
                              error="judge j1: HTTP 500" if u == 5 else None))
    spec = job({"name": bench, "judges": ["j1"], "arena": {"baseline": "base", "bootstrap": 20,
                                                          "style_control": True}})
    run = reduce_judged(spec, [rows.table_from_rows(table)])
    battles = run.battles[bench]
    assert len(battles) == 11 and sum(b.weight for b in battles) == 3 * 3 + 3 + 5
    assert run.errors[0]["failed"] == 1
    extra, blocks = arena_blocks(spec, run, run.samples)
    assert blocks[0]["battles"] == 17
    metrics = {r["metric"] for r in extra}
    assert {"score", "score_style_controlled"} <= metrics
    assert set(blocks[0]["style_control"]["coefficients"]) == {"length", "headers", "lists", "bold"}
    score = next(r for r in extra if r["metric"] == "score")
    # tuned won 3 strong (9 battles) and tied 5 of the game-2 battles, lost 3: well above the baseline
    assert score["value"] > 0.5 and score["ci_low"] <= score["value"] <= score["ci_high"]
