"""Draws from the length and duration distributions of a workload (:class:`~evalray.job.perf_workload.Distribution`).

``fixed`` is its value; ``uniform`` is uniform on ``[low, high]`` (integers inclusive for token counts); ``normal`` is
``N(mean, std)``; ``lognormal`` is ``exp(N(ln(mean) - sigma^2/2, sigma))`` (so its mean is ``mean``); ``empirical``
draws with replacement from the numbers of a file. Every draw is then clipped to ``[min, max]`` (default ``[1,
10,000,000]`` for token counts, ``[0, inf)`` for seconds) and token counts are rounded to the nearest integer. The
same seed gives the same draws.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from evalray.errors import ConfigError
from evalray.job.perf_workload import MAX_TOKENS, Distribution

_EMPIRICAL: dict[str, np.ndarray] = {}


def empirical_values(path: str) -> np.ndarray:
    """The numbers of a file, one per line (blank lines and ``#`` comments skipped); a bad line is one error naming
    the file and the line."""
    if path in _EMPIRICAL:
        return _EMPIRICAL[path]
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the empirical distribution ({exc.strerror or exc})") from None
    values = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{path} line {number}: expected a number, got {text[:40]!r}") from None
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{path} line {number}: expected a finite number >= 0, got {text[:40]!r}")
        values.append(value)
    if not values:
        raise ConfigError(f"{path}: no numbers (one per line) for the empirical distribution")
    _EMPIRICAL[path] = np.asarray(values, dtype=np.float64)
    return _EMPIRICAL[path]


def draw(dist: Distribution, count: int, rng: np.random.Generator, integer: bool = True) -> np.ndarray:
    """``count`` draws: int64 token counts (``integer``) or float64 seconds."""
    kind = dist.dist
    if kind == "fixed":
        values = np.full(count, float(dist.value or 0.0))
    elif kind == "uniform":
        assert dist.low is not None and dist.high is not None
        if integer:
            values = rng.integers(math.ceil(dist.low), math.floor(dist.high) + 1, size=count).astype(np.float64)
        else:
            values = rng.uniform(dist.low, dist.high, size=count)
    elif kind == "normal":
        values = rng.normal(dist.mean, dist.std, size=count)
    elif kind == "lognormal":
        assert dist.mean is not None and dist.sigma is not None
        mean = max(dist.mean, 1e-300)
        values = rng.lognormal(math.log(mean) - dist.sigma**2 / 2, dist.sigma, size=count)
    else:
        assert dist.file is not None
        values = rng.choice(empirical_values(dist.file), size=count)
    low = dist.min if dist.min is not None else (1.0 if integer else 0.0)
    high = dist.max if dist.max is not None else (float(MAX_TOKENS) if integer else math.inf)
    values = np.clip(values, low, high)
    return np.rint(values).astype(np.int64) if integer else values
