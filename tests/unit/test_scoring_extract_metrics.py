"""Extraction, metrics and aggregation of the core (no Ray)."""

from __future__ import annotations

import math

import pytest

from evalray.results.aggregate import score_rows
from evalray.scoring import extract, metrics


@pytest.mark.parametrize(
    "text, letter",
    [
        ("Let me think.\nANSWER: C", "C"),
        ("answer: (b)", "B"),
        ("The answer is (D).", "D"),
        (" B", "B"),
        ("B. because", "B"),
        ("**ANSWER: A**", "A"),
        ("ANSWER: E", None),  # not one of four choices
        ("I do not know", None),
        ("", None),
    ],
)
def test_choice_letter(text, letter):
    assert extract.choice_letter(text, 4) == letter


@pytest.mark.parametrize(
    "text, number",
    [("so she makes $18 every day.", "18"), ("#### 1,234", "1234"), ("It is -3.50.", "-3.50"), ("no number", None),
     ("ANSWER: 72", "72"), ("5.0", "5")],
)
def test_last_number(text, number):
    assert extract.last_number(text) == number


def test_numbers_compare_numerically():
    assert extract.numbers_equal("18.00", "18")
    assert extract.numbers_equal("1,000", "1000")
    assert not extract.numbers_equal("18", "19")
    assert not extract.numbers_equal("1450001", "1450000")
    assert not extract.numbers_equal(None, "1")


def test_mean_stderr_matches_the_sample_formula():
    values = [1.0, 0.0, 1.0, 1.0]
    mean, stderr = metrics.mean_stderr(values)
    assert mean == 0.75
    assert stderr == pytest.approx(math.sqrt(0.25 / 4))  # sample variance 0.25, n 4
    low, high = metrics.confidence_interval(mean, stderr)
    assert low == pytest.approx(0.75 - 1.959964 * stderr) and high == 1.0  # clipped to the score range


def test_multiple_choice_acc_and_acc_norm():
    score = metrics.multiple_choice_scores([-1.0, -2.0, -10.0], [1, 10, 100], gold=2, wanted=("acc", "acc_norm"))
    assert score.values == {"acc": 0.0, "acc_norm": 1.0}
    assert score.extracted == "A"


def test_pass_at_k_unbiased_estimator():
    assert metrics.pass_at_k(10, 0, 1) == 0.0
    assert metrics.pass_at_k(10, 10, 5) == 1.0
    assert metrics.pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert metrics.pass_at_k(5, 2, 2) == pytest.approx(1 - (3 * 2) / (5 * 4))


def test_score_rows_micro_macro_subset_and_category():
    frame = [{"subset": s, "scores": {"acc": v}, "error": None}
             for s, v in zip(["a", "a", "a", "b"], (1.0, 1.0, 0.0, 0.0))]
    rows = score_rows(frame, "m", "bench", {"a": "stem", "b": "other"})
    by = {(r["subset"], r["metric"], r["level"]): r for r in rows}
    assert by[(None, "acc", "overall")]["value"] == 0.5 and by[(None, "acc", "overall")]["n"] == 4
    assert by[(None, "acc_macro", "overall")]["value"] == pytest.approx((2 / 3 + 0) / 2, abs=1e-6)
    assert by[("a", "acc", "subset")]["n"] == 3
    assert by[("stem", "acc", "category")]["value"] == pytest.approx(2 / 3, abs=1e-6)
    assert all({"ci_low", "ci_high", "stderr"} <= set(r) for r in rows)


def test_errored_samples_are_not_scored():
    frame = [{"subset": None, "scores": {"exact_match": 1.0}, "error": None},
             {"subset": None, "scores": {}, "error": "boom"}]
    rows = score_rows(frame, "m", "gsm8k", {})
    assert rows[0]["n"] == 1 and rows[0]["value"] == 1.0


def test_list_values_are_pooled_observations():
    frame = [{"subset": None, "error": None, "score_lists": {"inst": [1.0, 1.0, 1.0]}},
             {"subset": None, "error": None, "score_lists": [("inst", [0.0])]}]  # maps as dicts or Arrow pairs
    row = score_rows(frame, "m", "ifeval", {})[0]
    assert row["value"] == 0.75 and row["n"] == 4  # pooled over instructions, not (1.0 + 0.0) / 2 over prompts
