"""Agreement between judges of a panel on the same items.

* percent agreement — the share of items (judged by both) where two judges gave the same label, averaged over judge
  pairs;
* Cohen's kappa (two judges) — ``(p_o - p_e) / (1 - p_e)``, ``p_e`` from each judge's own label frequencies;
* Krippendorff's alpha, nominal (any number of judges, missing labels allowed) — ``1 - D_o / D_e`` from the
  coincidence matrix of the items that at least two judges labelled.

Labels are compared as they are (a rating 8 and 8.0 are the same label; pairwise outcomes are ``win`` / ``tie`` /
``loss``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations

Label = Hashable
Table = Mapping[str, Mapping[Hashable, Label]]  # judge -> item -> label


def percent_agreement(a: Sequence[Label], b: Sequence[Label]) -> float | None:
    if not a:
        return None
    return sum(x == y for x, y in zip(a, b)) / len(a)


def cohen_kappa(a: Sequence[Label], b: Sequence[Label]) -> float | None:
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[label] * cb[label] for label in set(ca) | set(cb)) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha(units: Sequence[Sequence[Label | None]]) -> float | None:
    """Nominal alpha; ``units[i]`` holds each judge's label of item i (None where a judge gave none)."""
    coincidence: Counter = Counter()
    for unit in units:
        values = [v for v in unit if v is not None]
        m = len(values)
        if m < 2:
            continue
        for i, c in enumerate(values):
            for j, k in enumerate(values):
                if i != j:
                    coincidence[(c, k)] += 1.0 / (m - 1)
    n = sum(coincidence.values())
    if n <= 1:
        return None
    totals: Counter = Counter()
    for (c, _), value in coincidence.items():
        totals[c] += value
    disagree_observed = sum(v for (c, k), v in coincidence.items() if c != k)
    disagree_expected = (n * n - sum(t * t for t in totals.values())) / (n - 1)
    if disagree_expected == 0:
        return 1.0 if disagree_observed == 0 else None
    return 1.0 - disagree_observed / disagree_expected


def agreement(table: Table) -> dict[str, object]:
    """Panel statistics: judges, items labelled by at least two, mean pairwise percent agreement, Cohen's kappa per
    pair (and its mean) and Krippendorff's alpha over all judges."""
    judges = sorted(table)
    items = sorted({item for labels in table.values() for item in labels}, key=str)
    pairs = []
    for x, y in combinations(judges, 2):
        common = [i for i in items if i in table[x] and i in table[y]]
        a, b = [table[x][i] for i in common], [table[y][i] for i in common]
        pairs.append({"judges": [x, y], "items": len(common), "percent_agreement": _round(percent_agreement(a, b)),
                      "cohen_kappa": _round(cohen_kappa(a, b))})
    units = [[table[j].get(i) for j in judges] for i in items]
    shared = sum(1 for unit in units if sum(v is not None for v in unit) >= 2)
    agreements = [p["percent_agreement"] for p in pairs if p["percent_agreement"] is not None]
    kappas = [p["cohen_kappa"] for p in pairs if p["cohen_kappa"] is not None]
    return {
        "judges": judges, "items": shared,
        "percent_agreement": _round(sum(agreements) / len(agreements)) if agreements else None,
        "cohen_kappa": _round(sum(kappas) / len(kappas)) if kappas else None,
        "krippendorff_alpha": _round(krippendorff_alpha(units)),
        "pairs": pairs,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
