"""MATH answer equivalence through math-verify: equivalent forms count, near misses do not."""

from __future__ import annotations

import pytest

from evalray.scoring import extract, math_equiv


@pytest.mark.parametrize("gold,answer", [
    (r"\frac12", r"0.5"),
    (r"\frac12", r"\dfrac{1}{2}"),
    (r"\frac12", r"1/2"),
    (r"\frac{1}{2}", r"\frac12"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\pi/2)"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"\left(3,\frac{\pi}{2}\right)"),
    (r"90^\circ", r"90"),
    (r"90", r"90^\circ"),
    (r"x^2+2x+1", r"x^2 + 2x + 1"),
    (r"x^2+2x+1", r"(x+1)^2"),
    (r"2\sqrt{2}", r"\sqrt{8}"),
    (r"\text{(C)}", r"\text{(C)}"),
    (r"10", r"10.0"),
    (r"[-2,7]", r"[-2, 7]"),
])
def test_equivalent_forms_are_right(gold, answer):
    ok, _ = math_equiv.is_equiv(gold, f"Some work first.\nSo the answer is $\\boxed{{{answer}}}$.")
    assert ok, (gold, answer)


@pytest.mark.parametrize("gold,answer", [
    (r"\frac12", r"0.51"),
    (r"\frac12", r"\frac13"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\pi)"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"(\pi/2, 3)"),
    (r"90^\circ", r"91"),
    (r"x^2+2x+1", r"x^2+2x+2"),
    (r"2\sqrt{2}", r"\sqrt{2}"),
    (r"[-2,7]", r"(-2,7)"),
    (r"10", r"100"),
])
def test_near_misses_are_wrong(gold, answer):
    ok, _ = math_equiv.is_equiv(gold, f"$\\boxed{{{answer}}}$")
    assert not ok, (gold, answer)


def test_the_last_boxed_answer_counts_and_no_answer_is_wrong():
    assert math_equiv.is_equiv("5", r"First \boxed{3}, then corrected: \boxed{5}")[0]
    assert not math_equiv.is_equiv("5", r"First \boxed{5}, then corrected: \boxed{3}")[0]
    assert not math_equiv.is_equiv("5", "")[0]


def test_last_boxed_extraction():
    assert extract.last_boxed(r"so $\boxed{\frac{1}{2}}$ and finally $\boxed{x^{2}+1}$.") == "x^{2}+1"
    assert extract.last_boxed(r"The answer is $\boxed 5$.") == "5"
    assert extract.last_boxed(r"\fbox{7}") == "7"
    assert extract.last_boxed("no box") is None
