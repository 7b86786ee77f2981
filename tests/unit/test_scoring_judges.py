"""Verdict parsers fail closed and follow the reference rules (FastChat, Arena-Hard-Auto, AlpacaEval); templates
render FastChat's prompts and AlpacaEval's brace-heavy ones by name."""

from __future__ import annotations

import math

import pytest

from evalray.scoring.judges.templates import builtin
from evalray.scoring.judges.verdicts import combine_games, parse_verdict


@pytest.mark.parametrize("text, value, error", [
    ("The answer is fine. Rating: [[7]]", 7.0, None),
    ("Rating: [8.5]", 8.5, None),  # FastChat's single-bracket fallback
    ("[[3]] and later [[9]]", 3.0, None),  # the first match, as re.search
    ("Rating: [[11]]", None, "outside"),
    ("no verdict here", None, "unparsable"),
])
def test_rating(text, value, error):
    verdict = parse_verdict("rating", text)
    assert verdict.value == value and (error is None) == (verdict.error is None)
    if error:
        assert error in verdict.error and not verdict.ok


def test_pair_checks_a_then_b_then_c_like_fastchat():
    assert parse_verdict("pair", "[[B]] ... [[A]]").label == "A"
    assert parse_verdict("pair", "tie [[C]]").value == 0.5
    assert not parse_verdict("pair", "[A]").ok


def test_five_level_needs_one_distinct_label_and_weighs_strong_verdicts():
    strong = parse_verdict("five", "My final verdict is: [[B>>A]]")
    assert (strong.value, strong.weight) == (0.0, 3)
    assert parse_verdict("five", "[[A>B]] so again [[A>B]]").value == 1.0
    assert "conflicting" in parse_verdict("five", "[[A>B]] or [[A=B]]").error
    assert not parse_verdict("five", "[[A>>>B]]").ok and not parse_verdict("five", "none").ok


def test_logprob_preference_is_the_normalized_token_probability():
    verdict = parse_verdict("logprob", "", [math.log(0.6), math.log(0.2)])
    assert verdict.value == pytest.approx(0.75) and verdict.label == "m"
    assert not parse_verdict("logprob", "", []).ok


def test_ranking_and_json():
    assert parse_verdict("ranking", "[{'model': 'model_1', 'rank': 2}, {'model': 'model_2', 'rank': 1}]").value == 0.0
    assert not parse_verdict("ranking", "[{'model': 'model_1', 'rank': 3}]").ok
    assert parse_verdict("json", 'thinking... {"score": 6}').value == 6.0
    assert parse_verdict("json", '{"winner": "tie"}').value == 0.5
    assert not parse_verdict("json", "{not json}").ok


def test_fastchat_game_combination():
    assert combine_games(1.0, 0.0, "fastchat") == 1.0  # model 1 won both orders
    assert combine_games(1.0, 1.0, "fastchat") == 0.5  # always position A: inconsistent, a tie
    assert combine_games(0.5, 0.5, "fastchat") == 0.5
    assert combine_games(0.8, 0.4, "mean") == pytest.approx(0.7)


def test_alpaca_template_keeps_its_literal_braces():
    template = builtin("weighted_alpaca_eval_gpt4_turbo")
    text = template.render({"instruction": "Say hi", "output_1": "hi", "output_2": "hello"})
    assert '"instruction": """Say hi"""' in text and '"output": """hello"""' in text
    assert text.count("{") == template.prompt_template.count("{") - 3
    assert template.tokens == ("m", "M") and template.format == "logprob"
