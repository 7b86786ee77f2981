"""Code benchmarks: the program text from a model answer, and pass@k scoring of all of a sample's repeats run in
the sandbox (in parallel)."""

from __future__ import annotations

import re

from evalray.scoring import extract, metrics
from evalray.scoring.sandbox import Limits, run_programs
from evalray.types import Score

STANDARD_K = (1, 5, 10, 100)
# generous: the slowest reference solutions (MBPP 123) take seconds, and much longer on a busy machine; the CPU limit
# still stops busy loops, the wall clock stops sleeping ones
LIMITS = Limits(timeout_s=30, cpu_s=20)


def answer_code(text: str) -> str:
    """The code in an answer: its fenced block if it has one, else the text cut at a '[DONE]' marker."""
    block = extract.code_block(text)
    if block is not None:
        return block
    text = text or ""
    text = text.split("[DONE]")[0]
    return text.replace("[BEGIN]", "", 1) if text.lstrip().startswith("[BEGIN]") else text


def function_code(text: str, prompt: str, entry_point: str) -> str:
    """HumanEval: the prompt plus the completion, or, when the answer redefines the function (chat models), the
    prompt (for its imports and helpers) followed by the answer's code."""
    code = answer_code(text)
    name = re.escape(entry_point)
    fenced = extract.code_block(text) is not None
    if re.search(rf"^def\s+{name}\s*\(", code, re.MULTILINE) or (fenced and re.search(rf"^\s*def\s+{name}\s*\(", code, re.MULTILINE)):
        return f"{prompt}\n    pass\n\n{code}"
    return prompt + code


def pass_at_k_score(programs: list[str], limits: Limits | None = None) -> Score:
    results = run_programs(programs, limits or LIMITS)
    n, c = len(results), sum(r.passed for r in results)
    values = {f"pass@{k}": metrics.pass_at_k(n, c, k) for k in sorted({*STANDARD_K, n}) if k <= n}
    first = results[0]
    return Score(values=values, extracted=f"{c}/{n} passed" + ("" if first.passed else f"; first: {first.status}"))
