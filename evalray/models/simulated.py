"""``backend: simulated``: a stand-in engine whose service time per batch is fixed, for scaling measurements.

``engine: {service_time_s: 0.25}`` is the wall time of one ``generate``/``loglikelihood`` call whatever the batch
holds; the call sleeps (no CPU), so a machine with few cores can host many replicas and the measured throughput shows
the pipeline's own scaling (actor pool, batching, scheduling across nodes), not the box's cores. Answers are fixed
strings and zero log-likelihoods.
"""

from __future__ import annotations

import time
from typing import Sequence

from evalray.errors import ConfigError
from evalray.job.spec import ModelSpec
from evalray.models.base import Backend
from evalray.types import Generation, Request

DEFAULT_SERVICE_TIME_S = 0.25


def service_time(spec: ModelSpec) -> float:
    value = spec.engine.get("service_time_s", DEFAULT_SERVICE_TIME_S)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"model '{spec.name}': engine.service_time_s must be a number, not {value!r}") from None
    if value < 0:
        raise ConfigError(f"model '{spec.name}': engine.service_time_s must be >= 0")
    return value


class SimulatedBackend(Backend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.service_time_s = service_time(spec)
        self.answer = str(spec.engine.get("answer", "simulated"))

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
