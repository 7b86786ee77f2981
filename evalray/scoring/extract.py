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
    return abs(x - y) <= 1e-6 + 1e-12 * abs(y)


def after_hashes(answer: str) -> str:
    """GSM8K gold: the number after the final '#### '."""
    return normalize_number(answer.split("####")[-1])


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\fbox{...}`` / ``\\boxed x``) in a LaTeX solution."""
    text = text or ""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    rest = text[start:]
    brace = rest.find("{")
    if rest.startswith("\\boxed ") and (brace < 0 or brace > len("\\boxed ")):
        return rest[len("\\boxed "):].split("$")[0].strip()
    if brace < 0:
        return None
    depth = 0
    for i in range(brace, len(rest)):
        if rest[i] == "{":
            depth += 1
        elif rest[i] == "}":
            depth -= 1
            if depth == 0:
                return rest[brace + 1 : i]
    return None


_SO_ANSWER_START = re.compile(r"the answer is", re.IGNORECASE)


def answer_after_phrase(text: str) -> str | None:
    """BBH chain-of-thought: the text after the last 'So the answer is', up to the end of its line, without the
    final period and markdown emphasis; else the last 'ANSWER: X' line; else None."""
    starts = [m.end() for m in _SO_ANSWER_START.finditer(text or "")]
    found = [text[starts[-1]:].split("\n")[0].lstrip(" :：")] if starts else []
    if not found:
        found = re.findall(r"ANSWER\s*[:：]\s*(.+)", text or "", re.IGNORECASE)
    if not found:
        return None
    answer = found[-1].strip()
    answer = answer.strip("*_` ").rstrip(".").strip("*_` ")
    return answer


def bbh_match(answer: str | None, target: str) -> bool:
    """Compare a BBH answer with its target: options '(A)' also match 'A' or '(A) text'; words case-insensitively;
    numbers numerically; bracket sequences and word lists with whitespace normalised."""
    if answer is None:
        return False
    a, t = " ".join(answer.split()), " ".join(target.split())
    if a == t or a.lower() == t.lower():
        return True
    option = re.fullmatch(r"\(([A-Z])\)", t)
    if option:
        m = re.match(r"^\(?([A-Z])\)?(?:$|[\s.:)])", a)
        return bool(m) and m.group(1) == option.group(1)
    if re.fullmatch(r"-?\d+(?:\.\d+)?", t):
        return numbers_equal(last_number(a), t)
    if a.lower().rstrip(".") == t.lower().rstrip("."):
        return True
    return "".join(a.split()) == "".join(t.split()) and not t.replace(" ", "").isalpha()


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|$)", re.DOTALL)


def code_block(text: str) -> str | None:
    """The Python code of a chat answer: the first fenced block tagged python (else the first fenced block); None
    when the text has no fence."""
    blocks = _FENCE.findall(text or "")
    if not blocks:
        return None
    for lang, body in blocks:
        if lang.lower() in ("python", "py", "python3"):
            return body
    return blocks[0][1]
