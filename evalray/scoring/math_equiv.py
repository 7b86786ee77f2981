"""MATH answer equivalence through the ``math-verify`` library (parsing LaTeX and plain expressions to sympy), not
hand-written normalisation. The gold is parsed as a LaTeX answer; the prediction is read from its last
``\\boxed{}`` (or, failing that, its last LaTeX/plain expression)."""

from __future__ import annotations

import threading
from functools import lru_cache



def _math_verify():
    """math-verify pulls in sympy (about 0.7 s): imported on first use, not by every score worker that loads the
    benchmark registry."""
    import math_verify

    return math_verify


def _timeout() -> int | None:
    # math-verify's timeouts use SIGALRM, which only works in the main thread
    return 5 if threading.current_thread() is threading.main_thread() else None


@lru_cache(maxsize=8192)
def _parse_gold(gold: str):
    text = gold if "\\boxed" in gold else f"${gold}$"
    mv = _math_verify()
    return mv.parse(text, extraction_config=[mv.LatexExtractionConfig(), mv.ExprExtractionConfig()],
                    parsing_timeout=_timeout())


def parse_prediction(text: str):
    """The answer of a solution: its last ``\\boxed{}`` when it has one, else its last expression."""
    from evalray.scoring.extract import last_boxed

    boxed = last_boxed(text or "")
    if boxed is not None:
        text = f"$\\boxed{{{boxed}}}$"
    mv = _math_verify()
    return mv.parse(text or "", extraction_config=[mv.LatexExtractionConfig(boxed_match_priority=0), mv.ExprExtractionConfig()],
                 parsing_timeout=_timeout())


def is_equiv(gold: str, prediction_text: str) -> tuple[bool, str | None]:
    """Whether the answer in ``prediction_text`` equals ``gold``; also the extracted answer string."""
    predicted = parse_prediction(prediction_text)
    extracted = str(predicted[-1]) if predicted else None
    if not predicted:
        return False, None
    gold_parsed = _parse_gold(gold)
    try:
        ok = bool(_math_verify().verify(gold_parsed, predicted, timeout_seconds=_timeout()))
    except Exception:  # pragma: no cover - sympy corner cases
        ok = False
    if not ok and extracted is not None:
        # identical strings (answers math-verify cannot parse, e.g. plain words) still count
        ok = "".join(extracted.split()) == "".join(gold.split())
    return ok, extracted
