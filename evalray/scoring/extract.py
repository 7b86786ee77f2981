"""Answer extraction shared by the benchmarks: choice letters, final numbers, ``#### N`` gold answers."""

from __future__ import annotations

import re

MC_INSTRUCTION = (
    "Answer the following multiple choice question. The last line of your response should be of the following "
    "format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. Think step by step before answering."
)

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ANSWER_LINE = re.compile(r"answer\s*(?:is|:|：)?\s*[:：]?\s*[*_`\s]*\(?\s*([A-Z])\s*\)?(?![A-Za-z])", re.IGNORECASE)
_BARE = re.compile(r"^\s*[*_`]*\(?([A-Z])\)?[*_`]*\s*[.:)]?\s*$")
_LEADING = re.compile(r"^\s*\(?([A-Z])(?:[).:]|\s|$)")
_NUMBER = re.compile(r"-?[$€£]?\s?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def mc_question(question: str, choices: tuple[str, ...] | list[str]) -> str:
    lines = [question.strip(), ""]
    lines += [f"{_LETTERS[i]}) {choice}" for i, choice in enumerate(choices)]
    return "\n".join(lines)


def choice_letter(text: str, n_choices: int) -> str | None:
    """The chosen letter in a free-form answer: the last 'ANSWER: X' / 'the answer is (X)', else a bare letter."""
    if not text:
        return None
    valid = _LETTERS[:n_choices]
    matches = [m.group(1).upper() for m in _ANSWER_LINE.finditer(text)]
    matches = [m for m in matches if m in valid]
    if matches:
        return matches[-1]
    for pattern in (_BARE, _LEADING):
        match = pattern.match(text.strip().splitlines()[0] if text.strip() else "")
        if match and match.group(1) in valid:
            return match.group(1)
    return None


def normalize_number(text: str) -> str:
    text = text.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "").replace(" ", "")
    text = text.rstrip(".")
    if re.fullmatch(r"-?\d+\.0*", text):
        text = text.split(".")[0]
    return text


def last_number(text: str) -> str | None:
    """The last number in a text (commas, currency signs and a trailing period dropped)."""
    found = _NUMBER.findall(text or "")
    return normalize_number(found[-1]) if found else None


def numbers_equal(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    try:
        x, y = float(normalize_number(a)), float(normalize_number(b))
    except ValueError:
        return normalize_number(a) == normalize_number(b)
    return abs(x - y) <= 1e-6 * max(1.0, abs(y))


def after_hashes(answer: str) -> str:
    """GSM8K gold: the number after the final '#### '."""
    return normalize_number(answer.split("####")[-1])
