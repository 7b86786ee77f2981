"""Bradley–Terry ratings from battles, as Arena-Hard-Auto computes them, with seeded bootstrap intervals.

A battle is (model_a, model_b, outcome for a in {1, 0.5, 0}, weight). The fit is Arena-Hard's ``compute_mle_elo``: a
logistic regression without intercept or penalty (solved by Newton's method on merged rows, equal to scikit-learn's
``LogisticRegression(penalty=None)`` that Arena-Hard calls: ``tests/unit/test_arena_bradley_terry.py``) on rows with ``+ln(10)`` in a's column and
``-ln(10)`` in b's; a tie counts as half a win for each side (Arena-Hard duplicates every battle and counts a tie as
one win each); ratings are ``400 · coef + 1000`` shifted so the anchor model has ``anchor_rating`` (no anchor: the
mean rating is ``anchor_rating``). Identical rows are merged into weights, so a fit costs the same for 100 battles
or 100,000.

Style control (Arena-Hard ``construct_style_matrices``): covariates per battle — for answer length, header, list and
bold counts, ``(a - b) / (a + b + 1)``, standardized over the battles — enter the same regression (with
scikit-learn's default L2 penalty there, as ``fit_bt`` does); the model coefficients are then the style-controlled
ratings.

Bootstrap: battles resampled with replacement ``rounds`` times (numpy ``default_rng(seed)``), each resample refit,
the 2.5% / 97.5% percentiles of each model's rating are its 95% interval (Arena-Hard's ``get_bootstrap_result``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

SCALE, BASE, INIT = 400.0, 10.0, 1000.0


@dataclass(frozen=True)
class Battle:
    model_a: str
    model_b: str
    outcome: float  # 1: a wins, 0.5: tie, 0: b wins
    weight: float = 1.0
    style: tuple[float, ...] = ()  # raw style features of a then b (k each), for style control


@dataclass
class Ratings:
    """Fitted ratings, bootstrap intervals (percentile 95%) and, with style control, the style coefficients."""

    ratings: dict[str, float]
    lower: dict[str, float] = field(default_factory=dict)
    upper: dict[str, float] = field(default_factory=dict)
    style_coefficients: list[float] = field(default_factory=list)
    rounds: int = 0


def _design(battles: Sequence[Battle], models: list[str], style: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = {m: i for i, m in enumerate(models)}
    n, p = len(battles), len(models)
    k = len(battles[0].style) // 2 if style and battles else 0
    x = np.zeros((n, p + k))
    rows = np.arange(n)
    x[rows, [index[b.model_a] for b in battles]] = math.log(BASE)
    x[rows, [index[b.model_b] for b in battles]] = -math.log(BASE)
    if k:
        raw = np.array([b.style for b in battles], dtype=float)
        a, b = raw[:, :k], raw[:, k:]
        diff = (a - b) / (a + b + 1.0)
        std = diff.std(axis=0)
        x[:, p:] = (diff - diff.mean(axis=0)) / np.where(std > 0, std, 1.0)
    outcome = np.array([b.outcome for b in battles], dtype=float)
    weight = np.array([b.weight for b in battles], dtype=float)
    return x, outcome, weight


def _fit(x: np.ndarray, outcome: np.ndarray, weight: np.ndarray, p: int, style: bool) -> np.ndarray:
    """Coefficients of the weighted logistic regression (each battle a win row and a loss row)."""
    if not style:  # merge identical rows: one per distinct (a, b) pair
        keys, inverse = np.unique(x, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        wins = np.bincount(inverse, weights=weight * outcome, minlength=len(keys))
        losses = np.bincount(inverse, weights=weight * (1.0 - outcome), minlength=len(keys))
        return _newton(keys, wins, losses)
    from sklearn.linear_model import LogisticRegression

    wins, losses = weight * outcome, weight * (1.0 - outcome)
    features = np.concatenate([x, x])
    labels = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    weights = np.concatenate([wins, losses]) + 1e-9
    model = LogisticRegression(fit_intercept=False, tol=1e-8, max_iter=1000)  # Arena-Hard fit_bt: default L2
    model.fit(features, labels, sample_weight=weights)
    return model.coef_[0]


def _newton(x: np.ndarray, wins: np.ndarray, losses: np.ndarray, iterations: int = 100) -> np.ndarray:
    """The unpenalized maximum-likelihood fit (what scikit-learn's ``penalty=None`` solves; tests compare the two) by
    Newton's method on the merged rows. The ratings are identified up to a constant: the first column is held at 0
    (the caller anchors them). A model that won (or lost) every battle gets a tiny pseudo-battle each way, so the
    estimate stays finite."""
    wins, losses = wins + 1e-6, losses + 1e-6
    totals = wins + losses
    free = x[:, 1:]
    beta = np.zeros(free.shape[1])
    for _ in range(iterations):
        prob = 1.0 / (1.0 + np.exp(-(free @ beta)))
        gradient = free.T @ (wins - totals * prob)
        hessian = (free * (totals * prob * (1.0 - prob))[:, None]).T @ free + 1e-10 * np.eye(len(beta))
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return np.concatenate([[0.0], beta])


def _anchored(coef: np.ndarray, models: list[str], anchor: str | None, anchor_rating: float) -> dict[str, float]:
    scores = SCALE * coef[: len(models)] + INIT
    shift = anchor_rating - (scores[models.index(anchor)] if anchor in models else scores.mean())
    return {m: float(s + shift) for m, s in zip(models, scores)}


def fit_ratings(battles: Sequence[Battle], anchor: str | None = None, anchor_rating: float = INIT,
                style_control: bool = False) -> Ratings:
    """Bradley–Terry ratings (Elo scale) of every model that appears in ``battles``."""
    models = sorted({b.model_a for b in battles} | {b.model_b for b in battles})
    if not battles:
        return Ratings({})
    x, outcome, weight = _design(battles, models, style_control)
    coef = _fit(x, outcome, weight, len(models), style_control)
    return Ratings(_anchored(coef, models, anchor, anchor_rating),
                   style_coefficients=[float(c) for c in coef[len(models):]])


def bootstrap_ratings(battles: Sequence[Battle], rounds: int = 1000, seed: int = 0, anchor: str | None = None,
                      anchor_rating: float = INIT, style_control: bool = False) -> Ratings:
    """The fit plus percentile 95% intervals from ``rounds`` seeded bootstrap resamples of the battles."""
    result = fit_ratings(battles, anchor, anchor_rating, style_control)
    if not battles or rounds <= 0:
        return result
    models = sorted(result.ratings)
    x, outcome, weight = _design(battles, models, style_control)
    rng = np.random.default_rng(seed)
    samples = np.empty((rounds, len(models)))
    for r in range(rounds):
        counts = rng.multinomial(len(battles), np.full(len(battles), 1.0 / len(battles)))
        coef = _fit(x, outcome, weight * counts, len(models), style_control)
        anchored = _anchored(coef, models, anchor, anchor_rating)
        samples[r] = [anchored[m] for m in models]
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    result.lower = {m: float(v) for m, v in zip(models, low)}
    result.upper = {m: float(v) for m, v in zip(models, high)}
    result.rounds = rounds
    return result


def expected_win_rate(rating_a: float, rating_b: float) -> float:
    """P(a beats b) under the fitted model (Arena-Hard ``predict_win_rate``)."""
    return 1.0 / (1.0 + BASE ** ((rating_b - rating_a) / SCALE))


def win_rate_matrix(ratings: dict[str, float]) -> dict[str, dict[str, float]]:
    """Predicted P(row beats column) for every pair of models."""
    return {a: {b: round(expected_win_rate(ra, rb), 6) for b, rb in ratings.items() if b != a}
            for a, ra in ratings.items()}


_CODE = re.compile(r"```([^`]*)```")


def style_features(text: str) -> tuple[float, float, float, float]:
    """Arena-Hard's style elements of one answer: length (whitespace tokens; Arena-Hard counts tiktoken tokens),
    markdown headers, list items and bold spans, counted with code blocks removed."""
    plain = _CODE.sub("", text)
    headers = len(re.findall(r"^#{1,6}\s", plain, re.MULTILINE))
    lists = len(re.findall(r"^\s*\d+\.\s", plain, re.MULTILINE)) + len(re.findall(r"^\s*[-*+]\s", plain, re.MULTILINE))
    bold = len(re.findall(r"\*\*[^*\n]+\*\*", plain)) + len(re.findall(r"__[^_\n]+__", plain))
    return float(len(text.split())), float(headers), float(lists), float(bold)
