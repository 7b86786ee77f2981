"""The model backend protocol and the row format of the generate stage.

A backend answers two primitives over a batch of :class:`~evalray.types.Request`:

* ``generate(requests)`` -> one :class:`~evalray.types.Generation` per request, ``texts`` holding ``request.repeats``
  answers;
* ``loglikelihood(requests)`` -> one Generation per request with one log-likelihood (and greedy flag) per
  continuation.

A failed request is a Generation with ``error`` set; a backend raises only for problems that make every request fail
(then the stage records the error on every row of the batch).

Rows between stages follow the one schema of :mod:`evalray.rows`; :mod:`evalray.models.stage` runs a Backend on
Ray Data, and :mod:`evalray.models.decoding` holds the stop-string and token-cap rules every backend applies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from evalray.job.spec import ModelSpec
from evalray.rows import OUTPUT_COLUMNS  # noqa: F401  (re-exported: the columns a generate stage adds)
from evalray.types import Generation, Request


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
