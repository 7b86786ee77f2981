"""Judge verdicts: the typed result of one judge call and the parsers that read it from the judge's text.

Every parser fails closed: a text without a verdict of the expected shape is a :class:`Verdict` with ``error`` set
(``unparsable: ...``), never a guess. The rules follow the reference implementations:

* ``rating`` — FastChat ``single-*`` prompts: the first ``[[N]]`` (else the first ``[N]``), a number in 1..10;
* ``pair`` — FastChat ``pair-*`` prompts: ``[[A]]`` / ``[[B]]`` / ``[[C]]`` (tie), checked in that order;
* ``five`` — Arena-Hard-Auto: every ``[[...]]`` label of ``[AB<>=]+``; exactly one distinct label, one of
  ``A>>B, A>B, A=B, B>A, B>>A`` (several different labels or none: unparsable);
* ``logprob`` — AlpacaEval 2 ``weighted_alpaca_eval_gpt4_turbo``: from the log-probabilities of the two one-token
  answers, ``P(first) = exp(lp_first - logsumexp(lp_first, lp_second))``;
* ``ranking`` — AlpacaEval 1 ``alpaca_eval_gpt4``: a Python list of ``{'model': ..., 'rank': 1|2}``;
* ``correct`` — evalray's correctness judge (``judge: {strategy: llm | auto}``): ``[[CORRECT]]`` (1) or
  ``[[INCORRECT]]`` (0), exactly one of them;
* ``json`` — custom judges: the first JSON object of the text with ``"score"`` (a rating) or ``"winner"``
  (``"A"``, ``"B"`` or ``"tie"``).

A verdict's ``value`` is what aggregation uses: the rating for ratings; for pairwise verdicts the preference for the
answer in position A, in [0, 1] (1 = A better, 0.5 = tie, 0 = B better), with ``weight`` 3 for Arena-Hard's strong
verdicts (``A>>B``, ``B>>A``) as its scoring counts them.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

VerdictFormat = Literal["rating", "pair", "five", "logprob", "ranking", "json"]
FORMATS: tuple[str, ...] = ("rating", "pair", "five", "logprob", "ranking", "json", "correct")
PAIRWISE_FORMATS = ("pair", "five", "logprob", "ranking")

_RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]")
_RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")
_FIVE = re.compile(r"\[\[([AB<>=]+)\]\]")
FIVE_LEVELS: dict[str, tuple[float, int]] = {  # label -> (preference for A, weight)
    "A>>B": (1.0, 3), "A>B": (1.0, 1), "A=B": (0.5, 1), "B>A": (0.0, 1), "B>>A": (0.0, 3),
}
STRONG_WEIGHT = 3


@dataclass(frozen=True)
class Verdict:
    """One judge call's verdict: ``label`` as the judge wrote it (``"8"``, ``"A"``, ``"A>>B"``), ``value`` (see the
    module docstring), ``weight`` (battles it counts for) and ``error`` when there is no verdict."""

    label: str | None = None
    value: float | None = None
    weight: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.value is not None


def unparsable(kind: str, text: str) -> Verdict:
    snippet = " ".join(text.split())[-80:]
    return Verdict(error=f"unparsable {kind} verdict: ...{snippet!r}" if snippet else f"unparsable {kind} verdict: empty")


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> Verdict:
    match = _RATING.search(text) or _RATING_BACKUP.search(text)
    if not match:
        return unparsable("rating", text)
    value = float(match.group(1))
    if not low <= value <= high:
        return Verdict(label=match.group(1), error=f"rating {match.group(1)} outside {low:g}..{high:g}")
    return Verdict(label=match.group(1), value=value)


def parse_pair(text: str) -> Verdict:
    for label, value in (("A", 1.0), ("B", 0.0), ("C", 0.5)):
        if f"[[{label}]]" in text:
            return Verdict(label=label, value=value)
    return unparsable("pairwise", text)


def parse_five(text: str) -> Verdict:
    labels = {m.strip("\n") for m in _FIVE.findall(text) if m}
    if len(labels) != 1:
        return unparsable("five-level", text) if not labels else Verdict(
            error=f"conflicting verdicts {sorted(labels)}")
    label = labels.pop()
    if label not in FIVE_LEVELS:
        return Verdict(label=label, error=f"unknown five-level verdict [[{label}]]")
    value, weight = FIVE_LEVELS[label]
    return Verdict(label=label, value=value, weight=weight)


def parse_logprob(loglikelihoods: Sequence[float], tokens: Sequence[str] = ("m", "M")) -> Verdict:
    """``loglikelihoods[i]`` is the judge's log-probability of answering ``tokens[i]`` (token 0 names position A)."""
    values = [float(x) for x in loglikelihoods]
    if len(values) != 2 or all(math.isinf(v) or math.isnan(v) for v in values):
        return Verdict(error=f"no log-probabilities for {list(tokens)}")
    top = max(values)
    log_total = top + math.log(sum(math.exp(v - top) for v in values if not math.isinf(v)))
    first = math.exp(values[0] - log_total)
    label = tokens[0] if first > 0.5 else tokens[1] if first < 0.5 else "="
    return Verdict(label=label, value=first)


def parse_ranking(text: str, first_name: str = "model_1") -> Verdict:
    try:
        ranking = ast.literal_eval(text.strip())
        rank = next(entry for entry in ranking if entry["model"] == first_name)["rank"]
    except (ValueError, SyntaxError, TypeError, KeyError, StopIteration, MemoryError, RecursionError):
        return unparsable("ranking", text)
    if rank not in (1, 2):
        return Verdict(error=f"rank {rank!r} of {first_name} is not 1 or 2")
    return Verdict(label=f"{first_name}:{rank}", value=1.0 if rank == 1 else 0.0)


def parse_json(text: str) -> Verdict:
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            if isinstance(obj.get("score"), (int, float)) and not isinstance(obj.get("score"), bool):
                return Verdict(label=str(obj["score"]), value=float(obj["score"]))
            winner = str(obj.get("winner", "")).strip().lower()
            if winner in ("a", "b", "tie"):
                return Verdict(label=winner.upper() if winner != "tie" else "tie",
                               value={"a": 1.0, "b": 0.0, "tie": 0.5}[winner])
        start = text.find("{", start + 1)
    return unparsable("json", text)


def parse_correct(text: str) -> Verdict:
    found = {label for label in ("CORRECT", "INCORRECT") if f"[[{label}]]" in text}
    if len(found) != 1:
        return unparsable("correctness", text) if not found else Verdict(error="both [[CORRECT]] and [[INCORRECT]]")
    label = found.pop()
    return Verdict(label=label, value=1.0 if label == "CORRECT" else 0.0)


def parse_verdict(kind: str, text: str, loglikelihoods: Sequence[float] = ()) -> Verdict:
    """The verdict of one judge reply of the given format."""
    if kind == "correct":
        return parse_correct(text)
    if kind == "rating":
        return parse_rating(text)
    if kind == "pair":
        return parse_pair(text)
    if kind == "five":
        return parse_five(text)
    if kind == "logprob":
        return parse_logprob(loglikelihoods)
    if kind == "ranking":
        return parse_ranking(text)
    if kind == "json":
        return parse_json(text)
    raise ValueError(f"unknown verdict format '{kind}'")


def combine_games(first: float, second: float, rule: str) -> float:
    """The preference for model 1 from two games (game 1: model 1 in position A; game 2: swapped), each given as the
    preference for position A. ``fastchat``: consistent verdicts win, inconsistent ones (and ties) are ties;
    ``mean``: the mean of the two preferences (AlpacaEval's probabilities)."""
    one, two = first, 1.0 - second  # both as preferences for model 1
    if rule == "fastchat":
        return one if one == two else 0.5
    return (one + two) / 2.0
