"""The ``comparisons`` block: McNemar's exact test equals scipy's binomial test on the discordant pairs, the paired
bootstrap interval equals a direct resampling with the same seed, and ratings get a sign test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from evalray.job.spec import JobSpec
from evalray.pipeline.arena_summary import comparisons

JOB = JobSpec.model_validate({"name": "c", "seed": 3, "models": [{"name": m, "backend": "replay", "source": "x"}
                                                                  for m in ("a", "b")],
                              "benchmarks": [{"name": "gsm8k"}]})


def rows(values, metric="exact_match"):
    return [{"uid": f"gsm8k::{i}", "scores": {metric: v}, "score_lists": {}, "error": None}
            for i, v in enumerate(values)]


def test_mcnemar_and_paired_bootstrap_on_binary_scores():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 80).astype(float)
    b = np.where(rng.random(80) < 0.3, 1.0 - a, a)
    samples = {("a", "gsm8k"): rows(a), ("b", "gsm8k"): rows(b) + [{"uid": "gsm8k::99", "scores": {"exact_match": 1.0},
                                                                   "score_lists": {}, "error": None}]}
    (row,) = comparisons(JOB, samples)
    assert row["n"] == 80 and row["test"] == "mcnemar_exact"  # only the items both scored
    b10, b01 = int(((a == 1) & (b == 0)).sum()), int(((a == 0) & (b == 1)).sum())
    assert row["p_value"] == pytest.approx(binomtest(b10, b10 + b01, 0.5).pvalue, abs=1e-6)
    assert row["difference"] == pytest.approx(b.mean() - a.mean(), abs=1e-6)
    # the direct paired bootstrap of d = b - a (binary: resampling counts of the distinct differences, seeded)
    d = b - a
    values = np.unique(d)
    counts = np.random.default_rng(3).multinomial(80, [(d == v).mean() for v in values], size=2000)
    low, high = np.percentile(counts @ values / 80, [2.5, 97.5])
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low, abs=1e-6), pytest.approx(high, abs=1e-6))


def test_ratings_get_a_sign_test():
    a = [5.0, 6.0, 7.0, 8.0, 4.0, 6.0]
    b = [6.0, 6.0, 9.0, 9.0, 5.0, 3.0]
    (row,) = comparisons(JOB, {("a", "gsm8k"): rows(a), ("b", "gsm8k"): rows(b)})
    assert row["test"] == "sign_test" and row["p_value"] == pytest.approx(binomtest(4, 5, 0.5).pvalue, abs=1e-6)
