"""AlpacaEval 2 win rates: raw, discrete and length-controlled (its ``length_controlled_v1`` GLM).

Per instruction ``i`` the preference ``p_i`` in [0, 1] is the probability that the model's output beats the
baseline's (AlpacaEval's ``preference - 1``; identical outputs are 0.5 without a judge call).

* ``win_rate`` — mean of ``p_i``; ``discrete_win_rate`` — mean of 1 / 0.5 / 0 for ``p_i`` above / at / below 0.5
  (AlpacaEval's zero-one rule);
* ``lc_win_rate`` — the GLM ``p_i ~ sigmoid(w_len · tanh(Δ_i / sd(Δ)) + w_diff · difficulty_i + w_model)`` with
  ``Δ_i = len(baseline_i) - len(model_i)`` in characters, fitted by maximum likelihood on the soft labels ``p_i``
  (each instruction a positive row of weight ``p_i`` and a negative row of weight ``1 - p_i``), then predicted with no
  length difference: ``mean_i sigmoid(w_diff · difficulty_i + w_model)``.

Differences from AlpacaEval, forced by the data available offline: AlpacaEval fits with L1-penalized
``LogisticRegressionCV`` (5 group folds) and regularizes toward the parameters of two "gamed" baselines read from its
leaderboard (``df_gamed.csv``); here the fit is unpenalized. ``difficulty_i`` comes from a file (``index,difficulty``
per instruction: AlpacaEval's ``instruction_difficulty.csv``) when given; otherwise, with two or more models in the
job, it is fitted as an item effect in a joint GLM of every model of the job (:func:`fit_difficulty`); with one model
and no file it is 0 (``difficulty_source`` says which).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def discrete(p: float) -> float:
    return 1.0 if p > 0.5 else 0.0 if p < 0.5 else 0.5


def fit_soft_logistic(features: np.ndarray, p: np.ndarray, l2: float = 0.0, iterations: int = 200) -> np.ndarray:
    """Maximum-likelihood coefficients (no intercept) of ``sigmoid(features @ w)`` for soft labels ``p`` (Newton's
    method; ``l2`` adds ``l2 / 2 · |w|²`` to the loss)."""
    w = np.zeros(features.shape[1])
    for _ in range(iterations):
        prob = _sigmoid(features @ w)
        gradient = features.T @ (p - prob) - l2 * w
        hessian = (features * (prob * (1 - prob))[:, None]).T @ features + (l2 + 1e-10) * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w


def length_features(model_lengths: Sequence[float], baseline_lengths: Sequence[float]) -> np.ndarray:
    delta = np.asarray(baseline_lengths, dtype=float) - np.asarray(model_lengths, dtype=float)
    sd = delta.std(ddof=1) if len(delta) > 1 else 0.0
    return np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)


def length_controlled(preferences: Sequence[float], model_lengths: Sequence[float], baseline_lengths: Sequence[float],
                      difficulty: Sequence[float] | None = None) -> dict[str, float]:
    """LC win rate and the GLM weights of one model against the baseline on the same instructions."""
    p = np.clip(np.asarray(preferences, dtype=float), 0.0, 1.0)
    diff = np.zeros(len(p)) if difficulty is None else np.asarray(difficulty, dtype=float)
    x = np.column_stack([length_features(model_lengths, baseline_lengths), diff, np.ones(len(p))])
    if difficulty is None or not np.any(diff):
        w = fit_soft_logistic(x[:, [0, 2]], p)
        w = np.array([w[0], 0.0, w[1]])
    else:
        w = fit_soft_logistic(x, p)
    lc = float(_sigmoid(w[1] * diff + w[2]).mean())
    return {"lc_win_rate": lc, "w_length": float(w[0]), "w_difficulty": float(w[1]), "w_model": float(w[2])}


def win_rates(preferences: Sequence[float]) -> dict[str, float]:
    p = [float(x) for x in preferences]
    if not p:
        return {}
    return {"win_rate": sum(p) / len(p), "discrete_win_rate": sum(discrete(x) for x in p) / len(p)}


def fit_difficulty(preferences: Mapping[str, Mapping[int, float]], lengths: Mapping[str, Mapping[int, float]],
                   baseline_lengths: Mapping[int, float], l2: float = 1.0) -> dict[int, float]:
    """Per-instruction difficulty from the models of the job: a joint GLM with a weight and a length term per model
    and an item effect per instruction (L2-penalized, so an instruction seen by few models stays near 0)."""
    models = sorted(preferences)
    items = sorted({i for m in models for i in preferences[m]})
    column = {i: k for k, i in enumerate(items)}
    blocks, labels = [], []
    for n, model in enumerate(models):
        keys = sorted(preferences[model])
        lf = length_features([lengths[model][i] for i in keys], [baseline_lengths[i] for i in keys])
        block = np.zeros((len(keys), 2 * len(models) + len(items)))
        block[:, n] = 1.0
        block[:, len(models) + n] = lf
        for r, i in enumerate(keys):
            block[r, 2 * len(models) + column[i]] = 1.0
        blocks.append(block)
        labels += [preferences[model][i] for i in keys]
    w = fit_soft_logistic(np.vstack(blocks), np.clip(np.asarray(labels), 0.0, 1.0), l2=l2)
    return {i: float(w[2 * len(models) + column[i]]) for i in items}


def read_difficulty(path: str) -> dict[int, float]:
    """``index,instruction_difficulty`` rows (AlpacaEval's ``instruction_difficulty.csv``; a header line is
    skipped)."""
    out: dict[int, float] = {}
    with open(Path(path).expanduser(), encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) >= 2:
                try:
                    out[int(float(row[0]))] = float(row[-1])
                except ValueError:
                    continue
    return out


def soft_log_loss(w: np.ndarray, x: np.ndarray, p: np.ndarray) -> float:
    """The loss :func:`fit_soft_logistic` minimizes (without penalty), for tests and diagnostics."""
    z = x @ w
    return float(np.sum(p * np.logaddexp(0, -z) + (1 - p) * np.logaddexp(0, z)))

