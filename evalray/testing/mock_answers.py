"""Scripted answers for ``evalray mock-server``: ``--answers FILE`` (JSONL lines ``{"prompt": ..., "answer": ...}``,
looked up by the request's last user message, or its prompt on /v1/completions) and ``--degrade-above-rate R``
(while more than R requests arrived in the last second, this one included, every answer is ``--degraded-answer``),
so that quality-under-load tests know the right answers and when they stop coming. Bounded: at most
:data:`MAX_ANSWERS` lines of at most 64 MiB in all."""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path
from time import perf_counter
from typing import Any

MAX_ANSWERS = 100_000
MAX_FILE_BYTES = 64 << 20
_PIECE = re.compile(r"\s*\S+\s*|\s+")


def load_answers(path: str | None) -> dict[str, str]:
    if not path:
        return {}
    file = Path(path)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path}: more than {MAX_FILE_BYTES >> 20} MiB of answers")
    answers = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("prompt", "answer")):
            raise ValueError(f"{path} line {number}: expected {{'prompt': str, 'answer': str}}")
        answers[row["prompt"]] = row["answer"]
        if len(answers) > MAX_ANSWERS:
            raise ValueError(f"{path}: more than {MAX_ANSWERS:,} answers")
    return answers


def pieces(text: str) -> list[str]:
    """``text`` as one-token pieces (a word with the spaces after it; leading spaces stay with the first word)."""
    return _PIECE.findall(text) or [""]


def request_key(request: dict[str, Any]) -> str:
    messages = request.get("messages")
    if isinstance(messages, list):
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        return str(users[-1].get("content", "")) if users else ""
    prompt = request.get("prompt", "")
    return prompt if isinstance(prompt, str) else ""


class RateWindow:
    """Arrivals of the last second."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self.times: collections.deque[float] = collections.deque(maxlen=limit)

    def arrive(self) -> int:
        """Record an arrival now; return the arrivals in the last second, this one included."""
        now = perf_counter()
        self.times.append(now)
        while self.times and self.times[0] <= now - 1.0:
            self.times.popleft()
        return len(self.times)
