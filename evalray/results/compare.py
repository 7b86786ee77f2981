"""Comparing two models (or runs) on a benchmark: score differences with 95% intervals and paired significance.

Statistics (shared with the judge/arena comparisons):

* :func:`mcnemar` — McNemar's test on the discordant pairs of two binary scores on the same items: ``b`` items right
  for A and wrong for B, ``c`` the other way round; under H0 ``b ~ Binomial(b + c, 1/2)``. The exact two-sided p-value
  is ``min(1, 2 · P(X <= min(b, c)))``; the mid-p value counts the observed outcome by half in each tail,
  ``2 · P(X <= k) - P(X = k)`` with ``k = min(b, c)`` (Fagerland, Lydersen and Laake, 2013): less conservative.
* :func:`paired_difference` — on items scored by both: the mean of ``d_i = b_i - a_i``, its standard error
  ``sd(d) / sqrt(n)`` (sample standard deviation, as every stderr of evalray), the 95% normal interval
  ``mean ± 1.96 · stderr``, and a paired bootstrap (items resampled with replacement, seeded, so a report is
  reproducible) giving a percentile interval and the two-sided p-value ``min(1, 2 · min(P*(d <= 0), P*(d >= 0)))``.
* :func:`unpaired_difference` — different items: ``mean_b - mean_a`` with ``sqrt(se_a² + se_b²)``.

:func:`compare_items` builds the rows of a comparison (per benchmark, per subset and metric) and the flipped items of
the benchmark's primary metric from two per-sample score frames (see :func:`score_frame`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class McNemar:
    """McNemar's test: ``b`` = right for A, wrong for B; ``c`` = wrong for A, right for B."""

    b: int
    c: int
    p_exact: float
    p_mid: float


def mcnemar(b: int, c: int) -> McNemar:
    """Exact (binomial) and mid-p McNemar test of ``b`` against ``c`` discordant pairs."""
    n = b + c
    if n == 0:
        return McNemar(b, c, 1.0, 1.0)
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1))  # exact integers: no underflow for large n
    total = 2**n
    p_exact = min(1.0, 2 * tail / total)
    p_mid = min(1.0, (2 * tail - math.comb(n, k)) / total)
    return McNemar(b, c, p_exact, p_mid)


@dataclass(frozen=True)
class Difference:
    """``diff = mean_b - mean_a`` with its 95% interval; paired statistics where the items are the same."""

    paired: bool
    n_a: int
    n_b: int
    n: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None
    stderr: float | None
    ci_low: float | None
    ci_high: float | None
    boot_low: float | None = None
    boot_high: float | None = None
    boot_p: float | None = None
    mcnemar: McNemar | None = None


def _stderr(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else 0.0


def _binary(values: np.ndarray) -> bool:
    return bool(np.all((values == 0.0) | (values == 1.0)))


def paired_bootstrap(d: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float, float]:
    """Percentile 95% interval and two-sided p-value of the mean of paired differences ``d``."""
    n = d.size
    rng = np.random.default_rng(seed)
    values = np.unique(d)
    if values.size <= 3:  # few distinct values (binary scores): resample the counts, not n indices
        probabilities = np.array([(d == v).mean() for v in values])
        counts = rng.multinomial(n, probabilities, size=resamples)
        means = counts @ values / n
    else:
        chunk = max(1, 2_000_000 // max(n, 1))
        means = np.concatenate([d[rng.integers(0, n, size=(min(chunk, resamples - start), n))].mean(axis=1)
                                for start in range(0, resamples, chunk)])
    low, high = np.percentile(means, [2.5, 97.5])
    p = min(1.0, 2 * min(float((means <= 0).mean()), float((means >= 0).mean())))
    return float(low), float(high), p


def paired_difference(a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> Difference:
    """A and B scored on the same items, in the same order."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = a.size
    if n == 0:
        return Difference(True, 0, 0, 0, None, None, None, None, None, None)
    d = b - a
    diff, stderr = float(d.mean()), _stderr(d)
    boot = paired_bootstrap(d, resamples, seed)
    test = None
    if _binary(a) and _binary(b):
        test = mcnemar(int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum()))
    return Difference(True, n, n, n, float(a.mean()), float(b.mean()), diff, stderr, diff - Z95 * stderr,
                      diff + Z95 * stderr, boot[0], boot[1], boot[2], test)


def unpaired_difference(a: np.ndarray, b: np.ndarray) -> Difference:
    """A and B scored on different items."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return Difference(False, a.size, b.size, 0, float(a.mean()) if a.size else None,
                          float(b.mean()) if b.size else None, None, None, None, None)
    diff = float(b.mean() - a.mean())
    stderr = math.sqrt(_stderr(a) ** 2 + _stderr(b) ** 2)
    return Difference(False, a.size, b.size, 0, float(a.mean()), float(b.mean()), diff, stderr,
                      diff - Z95 * stderr, diff + Z95 * stderr)


# ---- per-sample score frames ---------------------------------------------------------------------------------------


def parse_scores(value: Any) -> dict[str, Any]:
    """A sample's scores: a struct (schema 2, null metrics dropped) or a JSON string (schema 1)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


def _scalar(value: Any) -> float:
    if isinstance(value, list):  # pooled observations (IFEval instruction level): no per-item pairing
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def score_frame(ids: list[str], subsets: list[str | None], scores: list[Any],
                errors: list[str | None]) -> pd.DataFrame:
    """One row per sample id: ``subset``, ``error`` (bool) and one float column per scalar metric (NaN when the
    sample errored or has no scalar value for it)."""
    parsed = [parse_scores(s) if not e else {} for s, e in zip(scores, errors)]
    metrics: list[str] = []
    for values in parsed:
        metrics += [m for m in values if m not in metrics]
    frame = pd.DataFrame({"subset": subsets, "error": [bool(e) for e in errors]}, index=pd.Index(ids, name="id"))
    for metric in metrics:
        column = np.array([_scalar(v[metric]) if metric in v else math.nan for v in parsed], dtype=float)
        if not np.all(np.isnan(column)):
            frame[metric] = column
    return frame


def metric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("subset", "error")]


@dataclass
class BenchmarkComparison:
    """Rows (one per subset and metric, the overall row with subset None first) and the flipped ids of the primary
    metric: ``right_to_wrong`` were right for A and wrong for B, ``wrong_to_right`` the reverse."""

    benchmark: str
    primary: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    right_to_wrong: list[str] = field(default_factory=list)
    wrong_to_right: list[str] = field(default_factory=list)


def _difference(a: pd.Series, b: pd.Series) -> Difference:
    a, b = a.dropna(), b.dropna()
    common = a.index.intersection(b.index, sort=False)
    if len(common):
        return paired_difference(a.loc[common].to_numpy(), b.loc[common].to_numpy())
    return unpaired_difference(a.to_numpy(), b.to_numpy())


def _row(subset: str | None, metric: str, difference: Difference) -> dict[str, Any]:
    row = {"subset": subset, "metric": metric, **asdict(difference)}
    row.pop("mcnemar")
    test = difference.mcnemar
    row.update({"b": test.b if test else None, "c": test.c if test else None,
                "mcnemar_p": test.p_exact if test else None, "mcnemar_mid_p": test.p_mid if test else None})
    return row


def compare_items(benchmark: str, a: pd.DataFrame, b: pd.DataFrame, primary: str | None = None,
                  subsets: bool = True) -> BenchmarkComparison:
    """Compare B against A (the baseline) on one benchmark."""
    metrics = [m for m in metric_columns(a) if m in b.columns]
    if primary not in metrics:
        primary = metrics[0] if metrics else None
    if primary in metrics:
        metrics = [primary] + [m for m in metrics if m != primary]
    result = BenchmarkComparison(benchmark, primary)
    names = sorted({s for s in a["subset"].dropna()} | {s for s in b["subset"].dropna()}) if subsets else []
    for metric in metrics:
        result.rows.append(_row(None, metric, _difference(a[metric], b[metric])))
        if len(names) > 1:
            for name in names:
                mine, theirs = a[a["subset"] == name][metric], b[b["subset"] == name][metric]
                result.rows.append(_row(name, metric, _difference(mine, theirs)))
    if primary is not None:
        left, right = a[primary].dropna(), b[primary].dropna()
        common = left.index.intersection(right.index, sort=False)
        x, y = left.loc[common], right.loc[common]
        result.right_to_wrong = sorted(common[(x == 1.0).to_numpy() & (y == 0.0).to_numpy()].tolist(), key=_id_key)
        result.wrong_to_right = sorted(common[(x == 0.0).to_numpy() & (y == 1.0).to_numpy()].tolist(), key=_id_key)
    return result


def _id_key(sample_id: str) -> tuple:
    """Natural order of ids: ``"2" < "10"``, ``"abstract_algebra/3" < "abstract_algebra/12"``."""
    head, _, tail = str(sample_id).rpartition("/")
    return (head, int(tail), "") if tail.isdigit() else (head, math.inf, tail)
