"""Stop strings and token caps: the one rule every backend applies to a generate request.

* the answer budget is the request's ``max_tokens`` (the benchmark's), capped by the model's
  ``generation.max_tokens``;
* the stop strings are the request's (the benchmark's) followed by the model's ``generation.stop``, duplicates removed,
  order kept; a backend whose engine or API takes fewer (OpenAI's API: 4) passes what it can and cuts the text at the
  first occurrence of *any* of them with :func:`truncate_stop`, so every backend returns the same text.
"""

from __future__ import annotations

from typing import Sequence

from evalray.job.spec import GenerationSpec
from evalray.types import Request

OPENAI_API_MAX_STOP = 4  # the OpenAI API accepts at most four stop sequences


def max_new_tokens(request: Request, generation: GenerationSpec) -> int:
    return min(request.max_tokens or generation.max_tokens, generation.max_tokens)


def stop_strings(request: Request, generation: GenerationSpec) -> tuple[str, ...]:
    return tuple(s for s in dict.fromkeys(tuple(request.stop) + tuple(generation.stop)) if s)


def truncate_stop(text: str, stop: Sequence[str]) -> str:
    """Cut a generated text at the first occurrence of any stop string."""
    cut = len(text)
    for s in stop:
        if s:
            index = text.find(s)
            if index != -1:
                cut = min(cut, index)
    return text[:cut]
