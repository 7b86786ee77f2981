"""The run-level blocks of judged benchmarks (``arena``, extra score rows) and the paired ``comparisons`` of every
benchmark.

``arena`` (one entry per judged benchmark): mode, baseline, judges, Bradley–Terry ratings (Elo scale, anchored) with
seeded bootstrap 95% intervals, a leaderboard, the observed win-rate matrix and battle counts, the predicted win-rate
matrix, style-controlled ratings when asked, the length-controlled GLM (AlpacaEval) and panel agreement.

``comparisons``: for every benchmark and pair of models, on the samples both scored, the paired difference B - A of
the benchmark's primary metric (per-sample mean of its observations) with a paired bootstrap 95% interval
(:func:`evalray.results.compare.paired_difference`), and a p-value: McNemar's exact test for 0/1 metrics
(:func:`evalray.results.compare.mcnemar`), else a two-sided sign test on the non-zero differences (scipy
``binomtest``).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

import numpy as np

from evalray.pipeline.arena_results import JudgedRun, reduce_judged  # noqa: F401  (the runner's entry point)
from evalray.pipeline.judging import JudgedEntry, judged_entries
from evalray.rows import score_values

Row = dict[str, Any]


def _score_row(model, benchmark, metric, value, low=None, high=None, n=0) -> Row:
    r = (lambda x: None if x is None else round(float(x), 6))
    return {"model": model, "benchmark": benchmark, "subset": None, "metric": metric, "level": "overall",
            "value": r(value), "stderr": None, "ci_low": r(low), "ci_high": r(high), "n": int(n)}


def arena_blocks(job, run: JudgedRun, samples: dict[tuple[str, str], list[Row]]) -> tuple[list[Row], list[Row]]:
    """(extra score rows, arena entries)."""
    extra: list[Row] = []
    blocks: list[Row] = []
    for name, entry in judged_entries(job).items():
        block: Row = {"benchmark": name, "mode": entry.mode, "baseline": entry.baseline, "judges": list(entry.judges)}
        if entry.mode.startswith("correctness"):
            pass
        elif entry.mode == "single":
            block["leaderboard"] = _single_leaderboard(job, name, samples)
        else:
            extra += _pairwise(block, entry, run, samples)
        block["agreement"] = _agreement(run.judgments.get(name, []), entry)
        blocks.append(block)
    return extra, blocks


def _single_leaderboard(job, name, samples) -> list[Row]:
    board = []
    for model in job.models:
        ratings = [x for row in samples.get((model.name, name), []) if not row.get("error")
                   for x in (row.get("score_lists") or {}).get("score", [])]
        if ratings:
            board.append({"model": model.name, "score": round(float(np.mean(ratings)), 6), "n": len(ratings)})
    return sorted(board, key=lambda r: -r["score"])


def _pairwise(block: Row, entry: JudgedEntry, run: JudgedRun, samples) -> list[Row]:
    from evalray.scoring.arena.bradley_terry import (
        bootstrap_ratings,
        expected_win_rate,
        win_rate_matrix,
    )

    name = entry.entry.name
    arena = entry.entry.arena
    battles = run.battles.get(name, [])
    rounds = arena.bootstrap if arena else 1000
    seed = arena.seed if arena else 0
    anchor = (arena.anchor.model if arena and arena.anchor.model else None) or entry.baseline
    anchor_rating = arena.anchor.rating if arena else 1000.0
    fit = bootstrap_ratings(battles, rounds, seed, anchor, anchor_rating)
    counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    wins: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for b in battles:
        counts[b.model_a][b.model_b] += b.weight
        counts[b.model_b][b.model_a] += b.weight
        wins[b.model_a][b.model_b] += b.weight * b.outcome
        wins[b.model_b][b.model_a] += b.weight * (1 - b.outcome)
    block["battles"] = int(sum(b.weight for b in battles))
    block["battle_counts"] = {a: {b: round(n, 6) for b, n in row.items()} for a, row in counts.items()}
    block["win_rate_matrix"] = {a: {b: round(wins[a][b] / n, 6) for b, n in row.items() if n}
                                for a, row in counts.items()}
    block["predicted_win_rate"] = win_rate_matrix(fit.ratings)
    block["bootstrap"] = fit.rounds
    block["ratings"] = [{"model": m, "rating": round(r, 3), "lower": round(fit.lower.get(m, r), 3),
                         "upper": round(fit.upper.get(m, r), 3)} for m, r in sorted(fit.ratings.items(),
                                                                                   key=lambda kv: -kv[1])]
    block["leaderboard"] = [r["model"] for r in block["ratings"]]
    extra: list[Row] = []
    if name == "arena_hard" and entry.baseline in fit.ratings:
        base = fit.ratings[entry.baseline]
        for model, rating in fit.ratings.items():
            if model == entry.baseline:
                continue
            n = sum(b.weight for b in battles if model in (b.model_a, b.model_b))
            extra.append(_score_row(model, name, "score", expected_win_rate(rating, base),
                                    expected_win_rate(fit.lower.get(model, rating), base),
                                    expected_win_rate(fit.upper.get(model, rating), base), n))
        if arena and arena.style_control and battles and battles[0].style:
            styled = bootstrap_ratings(battles, rounds, seed, anchor, anchor_rating, style_control=True)
            block["style_control"] = {"ratings": {m: round(r, 3) for m, r in styled.ratings.items()},
                                      "coefficients": dict(zip(("length", "headers", "lists", "bold"),
                                                               [round(c, 6) for c in styled.style_coefficients]))}
            for model, rating in styled.ratings.items():
                if model != entry.baseline and entry.baseline in styled.ratings:
                    extra.append(_score_row(model, name, "score_style_controlled",
                                            expected_win_rate(rating, styled.ratings[entry.baseline]),
                                            expected_win_rate(styled.lower.get(model, rating),
                                                              styled.ratings[entry.baseline]),
                                            expected_win_rate(styled.upper.get(model, rating),
                                                              styled.ratings[entry.baseline])))
    if name == "alpaca_eval":
        block["length_controlled"], rows = _length_controlled(entry, samples)
        extra += rows
    return extra


def _length_controlled(entry: JudgedEntry, samples) -> tuple[Row, list[Row]]:
    from evalray.scoring.arena import length_control as lc

    name, baseline = entry.entry.name, entry.baseline
    base = {row["uid"]: len(row.get("output") or "") for row in samples.get((baseline, name), [])
            if not row.get("error")}
    prefs: dict[str, dict[int, float]] = {}
    lengths: dict[str, dict[int, float]] = {}
    for model, _ in entry.pairs:
        rows = [r for r in samples.get((model, name), []) if not r.get("error") and r["uid"] in base
                and "win_rate" in score_values(r)]
        prefs[model] = {int(r["id"]): float(score_values(r)["win_rate"]) for r in rows}
        lengths[model] = {int(r["id"]): float(len(r.get("output") or "")) for r in rows}
    base_by_id = {int(uid.split("::")[-1]): float(n) for uid, n in base.items()}
    arena = entry.entry.arena
    source = "none"
    difficulty: dict[int, float] = {}
    if arena and arena.difficulty_file:
        difficulty, source = lc.read_difficulty(arena.difficulty_file), f"file: {arena.difficulty_file}"
    elif len([m for m in prefs if prefs[m]]) >= 2:
        difficulty, source = lc.fit_difficulty(prefs, lengths, base_by_id), "fitted from the job's models"
    out, rows = {"difficulty_source": source, "models": {}}, []
    for model, p in prefs.items():
        if not p:
            continue
        ids = sorted(p)
        d = [difficulty.get(i, 0.0) for i in ids] if difficulty else None
        fit = lc.length_controlled([p[i] for i in ids], [lengths[model][i] for i in ids],
                                   [base_by_id[i] for i in ids], d)
        out["models"][model] = {k: round(v, 6) for k, v in fit.items()}
        rows.append(_score_row(model, name, "lc_win_rate", fit["lc_win_rate"], n=len(ids)))
    return out, rows


def _agreement(judgments: list[Row], entry: JudgedEntry) -> Row | None:
    from evalray.scoring.arena.agreement import agreement

    if len(entry.judges) < 2:
        return None
    table: dict[str, dict[tuple, Any]] = defaultdict(dict)
    for row in judgments:
        if row.get("judge_error") or row.get("verdict") is None or row.get("judge_repeat"):
            continue
        item = (row["model"], row["opponent"], row["uid"], row["turn"], row["judge_game"])
        table[row["judge"]][item] = row["verdict"]
    return agreement(table) if len(table) >= 2 else None


# ---- paired comparisons -------------------------------------------------------------------------------------------
def _per_sample(rows: list[Row], metric: str) -> dict[str, float]:
    out = {}
    for row in rows:
        if row.get("error"):
            continue
        value = score_values(row).get(metric)
        if value is None or (isinstance(value, list) and not value):
            continue
        out[row["uid"]] = float(np.mean(value)) if isinstance(value, list) else float(value)
    return out


def _primary(benchmark, rows_by_model: list[list[Row]]) -> str | None:
    present = {k for rows in rows_by_model for r in rows if not r.get("error") for k in score_values(r)}
    for metric in list(benchmark.metrics) + sorted(present):
        if metric in present:
            return metric
    return None


def comparisons(job, samples: dict[tuple[str, str], list[Row]], resamples: int = 2000) -> list[Row]:
    out: list[Row] = []
    names = [m.name for m in job.models]
    if len(names) < 2:  # nothing to compare (and scipy.stats, 0.7 s to import, is not needed)
        return out
    from scipy.stats import binomtest

    from evalray.benchmarks import registry
    from evalray.results.compare import mcnemar, paired_difference

    for entry in job.benchmarks:
        metric = _primary(registry.for_entry(entry), [samples.get((m, entry.name), []) for m in names])
        if metric is None:
            continue
        for a, b in combinations(names, 2):
            x, y = _per_sample(samples.get((a, entry.name), []), metric), _per_sample(samples.get((b, entry.name), []),
                                                                                       metric)
            common = sorted(set(x) & set(y))
            if not common:
                continue
            va, vb = np.array([x[u] for u in common]), np.array([y[u] for u in common])
            diff = paired_difference(va, vb, resamples=resamples, seed=job.seed)
            binary = bool(np.all(np.isin(va, (0.0, 1.0))) and np.all(np.isin(vb, (0.0, 1.0))))
            if binary:
                test = mcnemar(int(((va == 1) & (vb == 0)).sum()), int(((va == 0) & (vb == 1)).sum()))
                p, name = test.p_exact, "mcnemar_exact"
            else:
                up, down = int((vb > va).sum()), int((vb < va).sum())
                p, name = (binomtest(up, up + down, 0.5).pvalue if up + down else 1.0), "sign_test"
            out.append({"benchmark": entry.name, "metric": metric, "model_a": a, "model_b": b, "n": len(common),
                        "mean_a": round(float(va.mean()), 6), "mean_b": round(float(vb.mean()), 6),
                        "difference": round(float(diff.diff), 6), "ci_low": _r(diff.boot_low),
                        "ci_high": _r(diff.boot_high), "p_value": _r(p), "test": name})
    return out


def _r(x) -> float | None:
    return None if x is None else round(float(x), 6)


def finish(job, result, run: JudgedRun, samples: dict[tuple[str, str], list[Row]]):
    """The result with the judged benchmarks' extra score rows, ``arena``, ``judge_errors`` and, for every benchmark,
    ``comparisons``; a run with judge errors is ``partial`` (those judgments were excluded)."""
    from evalray.results.schema import ScoreRow

    extra, blocks = arena_blocks(job, run, samples) if run.judgments else ([], [])
    update: dict[str, Any] = {"arena": blocks, "judge_errors": run.errors, "comparisons": comparisons(job, samples)}
    if extra:
        update["scores"] = list(result.scores) + [ScoreRow(**row) for row in extra]
    if result.status == "completed" and any(e["errors"] for e in run.errors):
        update["status"] = "partial"
    return result.model_copy(update=update)
