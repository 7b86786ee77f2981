"""RAG metrics: the judge prompts evalray sends, how their JSON replies are read, and the formulas (RAGAS 0.4's
documented definitions; evalray writes its own prompts).

Per sample (question q, answer a, retrieved contexts c_1..c_n in rank order, reference answer g):

* ``faithfulness`` = |statements of a supported by the contexts| / |statements of a|; the judge first splits a into
  statements, then gives each a verdict against the joined contexts. No statements: not scored.
* ``answer_relevancy`` = mean over ``strictness`` (3) generated questions q'_i of cos(E(q), E(q'_i)), and 0 when any
  generation calls the answer noncommittal; needs an embedding model E.
* ``context_precision`` = Σ_k (precision@k · v_k) / Σ_k v_k, with v_k = 1 when the judge finds c_k useful for
  arriving at g, precision@k = (v_1 + … + v_k) / k; 0 when no context is useful.
* ``context_recall`` = |sentences of g the judge attributes to the contexts| / |sentences of g|.
* ``answer_similarity`` = cos(E(a), E(g)) (RAGAS' semantic similarity, no threshold).

Where evalray differs from RAGAS: the prompts are evalray's own (JSON replies, one call per step); a sample whose
judge call fails or whose reply cannot be read gets no value for that metric (counted in ``errors``), never a 0.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import numpy as np

RAG_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall", "answer_similarity")
JUDGED = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")
EMBEDDED = ("answer_relevancy", "answer_similarity")


class UnreadableReply(ValueError):
    """The judge's reply is not the JSON the step asked for."""


# ---- prompts (each starts with its step's tag, so a scripted test judge can tell them apart) ------------------------
def statements_prompt(question: str, answer: str) -> str:
    return ("[rag:statements]\nSplit the answer into standalone factual statements: each understandable without the "
            "others, pronouns replaced by what they refer to.\n"
            f"Question: {question}\nAnswer: {answer}\n"
            'Reply with JSON only: {"statements": ["...", "..."]}')


def verdicts_prompt(contexts: Sequence[str], statements: Sequence[str]) -> str:
    listed = "\n".join(f"{i + 1}. {s}" for i, s in enumerate(statements))
    return ("[rag:faithfulness]\nFor each statement, decide whether it can be directly inferred from the context "
            "(1) or not (0).\n" f"Context:\n{_joined(contexts)}\nStatements:\n{listed}\n"
            'Reply with JSON only: {"verdicts": [{"statement": "...", "verdict": 1, "reason": "..."}]} '
            "with one verdict per statement, in order.")


def question_prompt(answer: str, contexts: Sequence[str]) -> str:
    return ("[rag:question]\nWrite the question this answer answers. Also say whether the answer is noncommittal "
            '(evasive or vague: "I don\'t know", "I\'m not sure") with 1, or committal with 0.\n'
            f"Answer: {answer}\nContext:\n{_joined(contexts)}\n"
            'Reply with JSON only: {"question": "...", "noncommittal": 0}')


def usefulness_prompt(question: str, context: str, reference: str) -> str:
    return ("[rag:context_precision]\nWas this context useful in arriving at the reference answer? 1 for yes, 0 for "
            f"no.\nQuestion: {question}\nContext: {context}\nReference answer: {reference}\n"
            'Reply with JSON only: {"verdict": 1, "reason": "..."}')


def attribution_prompt(question: str, contexts: Sequence[str], reference: str) -> str:
    return ("[rag:context_recall]\nSplit the reference answer into sentences and, for each, decide whether it can be "
            "attributed to the context (1) or not (0).\n"
            f"Question: {question}\nContext:\n{_joined(contexts)}\nReference answer: {reference}\n"
            'Reply with JSON only: {"classifications": [{"statement": "...", "attributed": 1, "reason": "..."}]}')


def _joined(contexts: Sequence[str]) -> str:
    return "\n".join(f"[{i + 1}] {c}" for i, c in enumerate(contexts))


# ---- replies ------------------------------------------------------------------------------------------------------
def read_json(reply: str) -> dict[str, Any]:
    """The first JSON object in the reply (code fences and prose around it allowed)."""
    match = re.search(r"\{.*\}", reply or "", flags=re.DOTALL)
    if not match:
        raise UnreadableReply("no JSON object in the judge's reply")
    try:
        value = json.loads(match.group(0))
    except ValueError:
        raise UnreadableReply("the judge's reply is not valid JSON") from None
    if not isinstance(value, dict):
        raise UnreadableReply("the judge's reply is not a JSON object")
    return value


def _binary(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "yes", "no"):
        return 1 if value.strip().lower() in ("1", "yes") else 0
    raise UnreadableReply(f"expected a 0/1 verdict, got {value!r}")


def statements(reply: str) -> list[str]:
    items = read_json(reply).get("statements")
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise UnreadableReply("expected {\"statements\": [strings]}")
    return [s for s in items if s.strip()]


def verdicts(reply: str, expected: int, key: str = "verdicts", field: str = "verdict") -> list[int]:
    items = read_json(reply).get(key)
    if not isinstance(items, list) or (expected and len(items) != expected):
        raise UnreadableReply(f"expected {expected or 'a list of'} items under '{key}'")
    return [_binary(item.get(field) if isinstance(item, dict) else None) for item in items]


def generated_question(reply: str) -> tuple[str, int]:
    data = read_json(reply)
    question = data.get("question")
    if not isinstance(question, str):
        raise UnreadableReply("expected {\"question\": \"...\", \"noncommittal\": 0|1}")
    return question, _binary(data.get("noncommittal", 0))


def usefulness(reply: str) -> int:
    return _binary(read_json(reply).get("verdict"))


# ---- formulas -----------------------------------------------------------------------------------------------------
def faithfulness(supported: Sequence[int]) -> float | None:
    return sum(supported) / len(supported) if supported else None


def context_precision(useful: Sequence[int]) -> float:
    hits, total = 0, 0.0
    for k, verdict in enumerate(useful, 1):
        hits += verdict
        total += (hits / k) * verdict
    return total / hits if hits else 0.0


def context_recall(attributed: Sequence[int]) -> float | None:
    return sum(attributed) / len(attributed) if attributed else None


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / norm) if norm else 0.0


def answer_relevancy(question: np.ndarray, generated: Sequence[np.ndarray], noncommittal: Sequence[int]) -> float:
    if any(noncommittal):
        return 0.0
    return float(np.mean([cosine(question, g) for g in generated]))
