"""report.md / report.html show the arena leaderboard with intervals, the win-rate heatmap, judge errors and the
paired comparisons, deterministically."""

from __future__ import annotations

from evalray.results.arena_report import arena_html, arena_markdown

RESULT = {
    "arena": [{"benchmark": "arena_hard", "mode": "pairwise_baseline", "baseline": "base", "judges": ["j"],
               "ratings": [{"model": "tuned", "rating": 1100.0, "lower": 1050.0, "upper": 1150.0},
                           {"model": "base", "rating": 1000.0, "lower": 1000.0, "upper": 1000.0}],
               "win_rate_matrix": {"base": {"tuned": 0.3}, "tuned": {"base": 0.7}},
               "agreement": None}],
    "judge_errors": [{"benchmark": "arena_hard", "judge": "j", "model": "tuned", "judgments": 10, "errors": 2,
                      "unparsable": 1, "failed": 1}],
    "comparisons": [{"benchmark": "gsm8k", "metric": "exact_match", "model_a": "base", "model_b": "tuned", "n": 50,
                     "difference": 0.1, "ci_low": 0.02, "ci_high": 0.18, "p_value": 0.03, "test": "mcnemar_exact"}],
}


def test_markdown_has_leaderboard_heatmap_errors_and_comparisons():
    text = "\n".join(arena_markdown(RESULT))
    assert "| 1 | tuned | 1100.0 | [1050.0, 1150.0] |" in text
    assert "| tuned | 0.700 | - |" in text and "| base | - | 0.300 |" in text
    assert "| arena_hard | j | tuned | 10 | 1 | 1 |" in text
    assert "| gsm8k | exact_match | base | tuned | 50 | 0.1000 | [0.0200, 0.1800] | 0.0300 | mcnemar_exact |" in text


def test_html_heatmap_is_colored_and_reproducible():
    page = arena_html(RESULT)
    assert page == arena_html(RESULT)
    assert "Win rate (row vs column)" in page and "background:rgb(" in page and "<td>-</td>" in page
    assert arena_html({}) == ""
