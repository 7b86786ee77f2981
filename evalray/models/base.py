"""The model backend protocol and the row format of the generate stage.

A backend answers two primitives over a batch of :class:`~evalray.types.Request`:

* ``generate(requests)`` -> one :class:`~evalray.types.Generation` per request, ``texts`` holding ``request.repeats``
  answers;
* ``loglikelihood(requests)`` -> one Generation per request with one log-likelihood (and greedy flag) per
  continuation.

A failed request is a Generation with ``error`` set; a backend raises only for problems that make every request fail
(then the stage records the error on every row of the batch).

Rows entering the generate stage carry the request columns of :func:`request_to_columns` plus any pass-through
columns; the stage adds the :data:`OUTPUT_COLUMNS`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, Sequence

from evalray.job.spec import ModelSpec
from evalray.types import Generation, Request

OUTPUT_COLUMNS = ("texts", "loglikelihoods", "is_greedy", "error", "served_by", "node_id")


class Backend(ABC):
    """One model replica, owned by one Ray actor of the generate stage."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @abstractmethod
    def generate(self, requests: Sequence[Request]) -> list[Generation]: ...

    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        from evalray.errors import BackendError

        raise BackendError(f"backend '{self.spec.backend}' of model '{self.spec.name}' cannot compute log-likelihoods; "
                           "use mode: generate")

    def close(self) -> None:
        """Release clients, sessions and engines."""


def answer_requests(backend: Backend, requests: Sequence[Request]) -> list[Generation]:
    """One Generation per request, in order: each kind goes to its primitive; a backend failure becomes an error on
    each of that kind's requests, never a lost batch."""
    generations = [Generation(error="no answer")] * len(requests)
    for kind, method in (("generate", backend.generate), ("loglikelihood", backend.loglikelihood)):
        indices = [i for i, r in enumerate(requests) if r.kind == kind]
        if not indices:
            continue
        try:
            answers = method([requests[i] for i in indices])
        except Exception as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            answers = [Generation(error=f"{type(exc).__name__}: {message}"[:500])] * len(indices)
        for i, answer in zip(indices, answers):
            generations[i] = answer
    return generations


def request_to_columns(request: Request) -> dict[str, Any]:
    return {
        "kind": request.kind,
        "prompt": request.prompt,
        "messages": json.dumps(list(request.messages), ensure_ascii=False),
        "continuations": list(request.continuations),
        "contexts": list(request.contexts),
        "stop": list(request.stop),
        "max_tokens": int(request.max_tokens or 0),
        "repeats": int(request.repeats),
    }  # the row's own "uid" column travels beside these


def request_from_row(row: dict[str, Any]) -> Request:
    messages = row.get("messages") or "[]"
    return Request(
        kind=row["kind"],
        prompt=row.get("prompt") or "",
        messages=tuple(json.loads(messages)),
        continuations=tuple(row.get("continuations") if row.get("continuations") is not None else ()),
        stop=tuple(row.get("stop") if row.get("stop") is not None else ()),
        max_tokens=int(row.get("max_tokens") or 0) or None,
        repeats=int(row.get("repeats") or 1),
        uid=str(row.get("uid") or ""),
        contexts=tuple(row.get("contexts") if row.get("contexts") is not None else ()),
    )


def generation_columns(generation: Generation, served_by: str, node_id: str) -> dict[str, Any]:
    return {
        "texts": list(generation.texts),
        "loglikelihoods": [float(x) for x in generation.loglikelihoods],
        "is_greedy": [bool(x) for x in generation.is_greedy],
        "error": generation.error,
        "served_by": served_by,
        "node_id": node_id,
    }


def generation_from_row(row: dict[str, Any]) -> Generation:
    def as_list(value: Any) -> list:
        return list(value) if value is not None else []

    return Generation(
        texts=[str(t) for t in as_list(row.get("texts"))],
        loglikelihoods=[float(x) for x in as_list(row.get("loglikelihoods"))],
        is_greedy=[bool(x) for x in as_list(row.get("is_greedy"))],
        error=row.get("error") or None,
    )
