"""Bradley–Terry: ratings recover known strengths from seeded simulated battles, the bootstrap intervals cover the
true values, and the fit equals Arena-Hard-Auto's own formulation (scikit-learn on duplicated battles)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalray.scoring.arena.bradley_terry import (
    Battle,
    bootstrap_ratings,
    expected_win_rate,
    fit_ratings,
)

TRUE = {f"m{i}": 1000.0 + 60.0 * i for i in range(8)}  # m0 is the anchor at 1000


def simulate(seed: int, per_pair: int = 30) -> list[Battle]:
    rng = np.random.default_rng(seed)
    names = sorted(TRUE)
    battles = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p = expected_win_rate(TRUE[a], TRUE[b])
            for _ in range(per_pair):
                battles.append(Battle(a, b, 1.0 if rng.random() < p else 0.0))
    return battles


def test_fitted_ratings_recover_the_order():
    ratings = fit_ratings(simulate(0, per_pair=200), anchor="m0").ratings
    assert sorted(ratings, key=ratings.get) == sorted(TRUE, key=TRUE.get)
    assert ratings["m0"] == pytest.approx(1000.0)
    assert all(abs(ratings[m] - TRUE[m]) < 60 for m in TRUE)


def test_bootstrap_intervals_cover_the_truth_in_at_least_90_percent_of_40_simulations():
    covered = total = 0
    for seed in range(40):
        result = bootstrap_ratings(simulate(1000 + seed), rounds=100, seed=seed, anchor="m0")
        for model, truth in TRUE.items():
            if model == "m0":
                continue  # the anchor is fixed by construction
            total += 1
            covered += result.lower[model] <= truth <= result.upper[model]
    assert covered / total >= 0.90, f"coverage {covered}/{total}"


def test_fit_equals_arena_hard_duplicated_battle_regression():
    """Arena-Hard compute_mle_elo: battles duplicated, a tie = one a-win + one b-win, LogisticRegression without
    penalty or intercept, 400 * coef + 1000, anchored."""
    from sklearn.linear_model import LogisticRegression

    battles = [Battle(b.model_a, b.model_b, 0.5 if i % 5 == 0 else b.outcome)  # every fifth battle a tie
               for i, b in enumerate(simulate(7, per_pair=20)[:300])]
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    idx = {m: i for i, m in enumerate(models)}
    doubled = battles + battles
    x = np.zeros((len(doubled), len(models)))
    y = np.zeros(len(doubled))
    for r, b in enumerate(doubled):
        x[r, idx[b.model_a]], x[r, idx[b.model_b]] = math.log(10), -math.log(10)
        y[r] = 1.0 if b.outcome == 1.0 or (b.outcome == 0.5 and r < len(battles)) else 0.0
    lr = LogisticRegression(fit_intercept=False, penalty=None, tol=1e-8).fit(x, y)
    elo = 400 * lr.coef_[0] + 1000
    elo += 1000 - elo[idx["m0"]]
    ours = fit_ratings(battles, anchor="m0").ratings
    for m in models:
        assert ours[m] == pytest.approx(elo[idx[m]], abs=0.5)
