"""``backend: simulated``: a stand-in engine whose service time per batch is fixed, for scaling measurements.

``service_time_s: 0.25`` is the wall time of one ``generate``/``loglikelihood`` call whatever the batch
holds; the call sleeps (no CPU), so a machine with few cores can host many replicas and the measured throughput shows
the pipeline's own scaling (actor pool, batching, scheduling across nodes), not the box's cores. Answers are fixed
strings and zero log-likelihoods.
"""

from __future__ import annotations

import time
from typing import Sequence

from evalray.job.spec import SimulatedModelSpec
from evalray.models.base import Backend
from evalray.types import Generation, Request


class SimulatedBackend(Backend):
    def __init__(self, spec: SimulatedModelSpec) -> None:
        super().__init__(spec)
        self.service_time_s = spec.service_time_s
        self.answer = spec.answer

    def _serve(self) -> None:
        time.sleep(self.service_time_s)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        self._serve()
        return [Generation(texts=[self.answer] * r.repeats) for r in requests]

    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        self._serve()
        return [Generation(loglikelihoods=[0.0] * len(r.continuations), is_greedy=[False] * len(r.continuations))
                for r in requests]


BACKEND = SimulatedBackend
