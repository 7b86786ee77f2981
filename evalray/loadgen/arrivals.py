"""Open-loop arrival times generated lazily, a chunk at a time, so memory never grows with rate x duration.

``N`` arrivals of a gamma (shape ``k``) renewal process conditioned on spanning exactly ``(N-1)/rate`` seconds have
Dirichlet(k, ..., k) distributed gaps (scaled to the span). A Dirichlet vector is drawn one component at a time by
stick breaking: component ``i`` takes ``Beta(k, k * (remaining components))`` of the mass still left. The ``i``-th
arrival is ``span * (mass taken so far)`` and the last one is ``span`` exactly. ``constant`` arrivals are ``i / rate``.
A ramp-up maps unit-rate time ``tau`` to ``sqrt(2 tau R)`` while ``tau < R/2`` and ``tau + R/2`` after (see
:mod:`evalray.loadgen.schedule`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK = 65_536


@dataclass(frozen=True)
class ArrivalPlan:
    """The whole run's arrival process (picklable, a few numbers): each worker draws the same sequence from ``seed``
    and keeps its share, requests ``first, first + stride, ...``."""

    rate: float
    count: int
    arrival: str = "poisson"
    burstiness: float = 1.0
    ramp_up_s: float = 0.0
    seed: int = 0
    first_send_s: float = 0.0

    def chunks(self):
        """The absolute send times of all ``count`` arrivals, in ascending chunks of at most :data:`CHUNK`."""
        rng = np.random.default_rng(self.seed)
        gaps = self.count - 1  # the number of inter-arrival gaps
        span = gaps / self.rate
        shape = 1.0 if self.arrival == "poisson" else self.burstiness
        taken, left = 0.0, 1.0  # Dirichlet mass taken by the gaps so far / still left
        for start in range(0, self.count, CHUNK):
            index = np.arange(start, min(start + CHUNK, self.count), dtype=np.float64)
            if self.arrival == "constant" or gaps <= 0:
                tau = index / self.rate
            else:
                tau, taken, left = _stick_break(index, gaps, shape, span, taken, left, rng)
            yield self._ramp(tau) + self.first_send_s

    def _ramp(self, tau: np.ndarray) -> np.ndarray:
        ramp = self.ramp_up_s
        if ramp <= 0:
            return tau
        return np.where(tau < ramp / 2, np.sqrt(2 * np.maximum(tau, 0.0) * ramp), tau + ramp / 2)


def _stick_break(index: np.ndarray, gaps: int, shape: float, span: float, taken: float, left: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Arrivals ``index`` (arrival ``i`` ends gap ``i``; arrival 0 is at 0): their times and the mass after them."""
    gap = index[index >= 1]  # gap numbers 1..gaps that end at these arrivals
    remaining_after = gaps - gap  # components still to come after this one
    fraction = np.ones_like(gap)
    inner = remaining_after > 0
    fraction[inner] = rng.beta(shape, shape * remaining_after[inner])
    keep = np.cumprod(1.0 - fraction)  # mass left after each gap, relative to ``left``
    before = np.concatenate([[1.0], keep[:-1]])
    taken_now = taken + np.cumsum(left * before * fraction)
    times = span * taken_now
    if gap.size and gap[-1] == gaps:
        times[-1] = span  # the last arrival ends the span exactly
    out = np.concatenate([[0.0], times]) if index[0] == 0 else times
    new_left = left * float(keep[-1]) if keep.size else left
    return out, float(taken_now[-1]) if taken_now.size else taken, new_left


class ArrivalCursor:
    """One worker's arrivals, ``first + k * stride`` for ``k < count`` and below ``until`` (when given), read one at a
    time; holds one chunk."""

    def __init__(self, plan: ArrivalPlan | np.ndarray, first: int = 0, stride: int = 1,
                 until: float | None = None) -> None:
        self._chunks = plan.chunks() if isinstance(plan, ArrivalPlan) else iter([np.asarray(plan, np.float64)])
        self._offset = first if isinstance(plan, ArrivalPlan) else 0  # global index of the next arrival we keep
        self._stride = stride if isinstance(plan, ArrivalPlan) else 1
        self._until = until
        self._base = 0  # global index of the chunk's first arrival
        self._chunk = np.zeros(0)
        self._pos = 0
        self._done = False
        self._fill()

    def _fill(self) -> None:
        while not self._done and self._pos >= self._chunk.size:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                return
            base = self._base
            self._base += chunk.size
            mine = chunk[max(self._offset - base, 0)::self._stride]
            if mine.size:
                self._offset += mine.size * self._stride
            self._chunk, self._pos = mine, 0
            if self._until is not None and mine.size and mine[0] >= self._until:
                self._done = True

    def peek(self) -> float | None:
        """The next send time, or None when there is none left."""
        if self._pos >= self._chunk.size:
            return None
        value = float(self._chunk[self._pos])
        if self._until is not None and value >= self._until:
            return None
        return value

    def advance(self) -> None:
        self._pos += 1
        if self._pos >= self._chunk.size:
            self._fill()

    def skip_until(self, now: float) -> int:
        """Skip every arrival due by ``now`` (a backlog overflow); return how many were skipped."""
        skipped = 0
        while True:
            head = self.peek()
            if head is None or head > now:
                return skipped
            end = int(np.searchsorted(self._chunk, now, side="right"))
            if self._until is not None:
                end = min(end, int(np.searchsorted(self._chunk, self._until, side="left")))
            end = max(end, self._pos + 1)
            skipped += end - self._pos
            self._pos = end
            if self._pos >= self._chunk.size:
                self._fill()
