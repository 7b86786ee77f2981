"""Judge agreement and AlpacaEval's length-controlled win rate against hand computations and scikit-learn/scipy."""

from __future__ import annotations

import numpy as np
import pytest

from evalray.scoring.arena.agreement import (
    agreement,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from evalray.scoring.arena.length_control import (
    length_controlled,
    soft_log_loss,
    win_rates,
)

A = ["win", "win", "tie", "loss", "win", "loss", "tie", "win"]
B = ["win", "loss", "tie", "loss", "win", "win", "tie", "win"]


def test_percent_agreement_and_kappa_by_hand_and_sklearn():
    from sklearn.metrics import cohen_kappa_score

    assert percent_agreement(A, B) == 6 / 8
    # by hand: p_o = 6/8; A and B: win 4, tie 2, loss 2 each; p_e = (4*4 + 2*2 + 2*2) / 64 = 24/64
    assert cohen_kappa(A, B) == pytest.approx((6 / 8 - 24 / 64) / (1 - 24 / 64))
    assert cohen_kappa(A, B) == pytest.approx(cohen_kappa_score(A, B))


def test_krippendorff_alpha_nominal_by_hand():
    # 3 judges, 4 items, one missing label. Coincidences (pairs within units, weight 1/(m-1)):
    # unit1 (a,a,a): aa += 3*2*(1/2) = 3; unit2 (a,b,-): ab += 1, ba += 1; unit3 (b,b,b): bb += 3;
    # unit4 (a,b,b): ab += 2*(1/2)=1, ba += 1, bb += 2*(1/2) = 1
    # n_a = 3 + 1 + 1 = 5, n_b = 1 + 3 + 1 + 1 = 6 (ba counts toward b... ) -> n = 11
    units = [["a", "a", "a"], ["a", "b", None], ["b", "b", "b"], ["a", "b", "b"]]
    o_ab = 2.0 + 2.0  # o_ab + o_ba
    n_a, n_b = 5.0, 6.0
    n = n_a + n_b
    expected = 1 - (n - 1) * o_ab / (n * n - n_a**2 - n_b**2)
    assert krippendorff_alpha(units) == pytest.approx(expected)
    # two judges, no missing data: alpha is close to Scott's pi; perfect agreement is 1
    assert krippendorff_alpha([["x", "x"], ["y", "y"]]) == 1.0


def test_panel_summary_names_every_pair():
    table = {"j1": dict(enumerate(A)), "j2": dict(enumerate(B)), "j3": dict(enumerate(A[:5]))}
    stats = agreement(table)
    assert stats["judges"] == ["j1", "j2", "j3"] and stats["items"] == 8
    assert [p["judges"] for p in stats["pairs"]] == [["j1", "j2"], ["j1", "j3"], ["j2", "j3"]]
    assert stats["pairs"][1]["percent_agreement"] == 1.0 and stats["pairs"][1]["items"] == 5


def test_length_controlled_win_rate_equals_a_hand_fitted_glm():
    from scipy.optimize import minimize

    rng = np.random.default_rng(3)
    n = 60
    model_len = rng.integers(100, 2000, n).astype(float)
    base_len = rng.integers(100, 2000, n).astype(float)
    difficulty = rng.normal(0, 1, n)
    p = np.clip(1 / (1 + np.exp(-(0.3 + 0.8 * np.tanh((base_len - model_len) / 500) - 0.5 * difficulty)))
                + rng.normal(0, 0.05, n), 0, 1)
    ours = length_controlled(p, model_len, base_len, difficulty)
    delta = base_len - model_len
    x = np.column_stack([np.tanh(delta / delta.std(ddof=1)), difficulty, np.ones(n)])
    w = minimize(lambda w: soft_log_loss(w, x, p), np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    hand = float(np.mean(1 / (1 + np.exp(-(w[1] * difficulty + w[2])))))
    assert ours["lc_win_rate"] == pytest.approx(hand, abs=1e-5)
    assert ours["w_length"] == pytest.approx(w[0], abs=1e-4)


def test_raw_and_discrete_win_rates():
    rates = win_rates([0.9, 0.5, 0.2, 0.7])
    assert rates["win_rate"] == pytest.approx(2.3 / 4)
    assert rates["discrete_win_rate"] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
