"""Aggregate scored samples into ``result.json`` score rows: per subset, per category, micro overall and macro."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from evalray.rows import score_values
from evalray.scoring.metrics import confidence_interval, mean_stderr

Row = Mapping[str, Any]


def _row(model: str, benchmark: str, subset: str | None, metric: str, values: list[float], level: str) -> dict[str, Any]:
    mean, stderr = mean_stderr(values)
    low, high = confidence_interval(mean, stderr)
    return {
        "model": model, "benchmark": benchmark, "subset": subset, "metric": metric, "level": level,
        "value": _clean(mean), "stderr": _clean(stderr), "ci_low": _clean(low), "ci_high": _clean(high),
        "n": len(values),
    }


def _clean(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


def score_rows(samples: Sequence[Row], model: str, benchmark: str, categories: dict[str, str]) -> list[dict[str, Any]]:
    """Score rows of one (model, benchmark): the overall micro average (subset null, n = all scored samples), one row
    per subset and per category when the benchmark has subsets, and ``<metric>_macro`` over subsets."""
    scored = [row for row in samples if not row.get("error")]
    parsed = [score_values(row) for row in scored]
    subsets = [row.get("subset") for row in scored]
    metrics: list[str] = []
    for values in parsed:
        for name in values:
            if name not in metrics:
                metrics.append(name)
    rows: list[dict[str, Any]] = []
    distinct = sorted({s for s in subsets if s is not None})
    for metric in metrics:
        # a metric value is one observation, or a list of observations pooled with everyone else's (e.g. IFEval's
        # instruction-level accuracy is the mean over all instructions, not over prompts)
        pairs = [(s, x) for s, v in zip(subsets, parsed) if metric in v
                 for x in (v[metric] if isinstance(v[metric], list) else [v[metric]])]
        rows.append(_row(model, benchmark, None, metric, [v for _, v in pairs], "overall"))
        if len(distinct) <= 1:
            continue
        per_subset = {s: [v for t, v in pairs if t == s] for s in distinct}
        subset_rows = [_row(model, benchmark, s, metric, vals, "subset") for s, vals in per_subset.items() if vals]
        means = [r["value"] for r in subset_rows if r["value"] is not None]
        errs = [r["stderr"] for r in subset_rows if r["stderr"] is not None]
        macro = _row(model, benchmark, None, f"{metric}_macro", means, "overall")
        macro["value"] = _clean(sum(means) / len(means)) if means else None
        if errs and len(errs) == len(means):
            stderr = math.sqrt(sum(e * e for e in errs)) / len(errs)
            macro["stderr"] = _clean(stderr)
            low, high = confidence_interval(macro["value"], stderr)
            macro["ci_low"], macro["ci_high"] = _clean(low), _clean(high)
        macro["n"] = sum(r["n"] for r in subset_rows)
        rows.append(macro)
        if categories:
            grouped: dict[str, list[float]] = {}
            for s, v in pairs:
                if s in categories:
                    grouped.setdefault(categories[s], []).append(v)
            rows += [_row(model, benchmark, c, metric, vals, "category") for c, vals in sorted(grouped.items())]
        rows += subset_rows
    return rows


def count_row(samples: Sequence[Row], model: str, benchmark: str) -> dict[str, Any]:
    errors = sum(1 for row in samples if row.get("error"))
    return {"model": model, "benchmark": benchmark, "samples": len(samples), "errors": errors}
