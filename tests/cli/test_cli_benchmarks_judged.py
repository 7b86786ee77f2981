"""`evalray benchmarks show` describes the judged benchmarks: modes, judge templates and metrics."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("name, expected", [
    ("mt_bench", ["single-v1", "pair-v2", "score_turn2", "pairwise_all", "turns: 2"]),
    ("arena_hard", ["arena-hard-v0.1", "A>>B", "pairwise_baseline", "score"]),
    ("alpaca_eval", ["weighted_alpaca_eval_gpt4_turbo", "lc_win_rate", "discrete_win_rate"]),
])
def test_show_judged_benchmark(name, expected):
    result = run_cli("benchmarks", "show", name, timeout=120)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout, (text, result.stdout)
