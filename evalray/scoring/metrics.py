"""Metrics: per-sample scores and aggregates with standard errors (lm-evaluation-harness conventions)."""

from __future__ import annotations

import math
from typing import Sequence

from evalray.types import Score

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def mean_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation, ddof=1, over sqrt(n))."""
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mean = math.fsum(values) / n
    if n < 2:
        return mean, float("nan")
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def confidence_interval(
    mean: float, stderr: float, z: float = 1.959963984540054, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float]:
    """Normal-approximation 95% interval (mean +- z * stderr), clipped to the metric's range (scores lie in [0, 1])."""
    if math.isnan(stderr):
        return mean, mean
    return max(bounds[0], mean - z * stderr), min(bounds[1], mean + z * stderr)


def multiple_choice_scores(
    loglikelihoods: Sequence[float], lengths: Sequence[int], gold: int, wanted: Sequence[str]
) -> Score:
    """acc: the argmax of the log-likelihoods is gold; acc_norm: the same after dividing by the continuation's
    length in characters (lm-evaluation-harness)."""
    if not loglikelihoods:
        return Score(values={m: 0.0 for m in wanted}, extracted=None)
    best = max(range(len(loglikelihoods)), key=lambda i: loglikelihoods[i])
    values = {"acc": float(best == gold)}
    if "acc_norm" in wanted:
        normed = [ll / max(1, n) for ll, n in zip(loglikelihoods, lengths)]
        values["acc_norm"] = float(max(range(len(normed)), key=lambda i: normed[i]) == gold)
    return Score(values={m: values[m] for m in wanted if m in values}, extracted=_LETTERS[best])


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al., 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod
