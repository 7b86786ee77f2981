"""The driver's reduce of a judged run: answer records and judgments -> per-sample rows, score rows, the ``arena``
block, ``judge_errors`` and the per-benchmark judgment tables.

Per (model, sample, turn[, opponent]) the verdicts of every judge and repeat are combined by the benchmark entry's
``aggregate`` (mean | median | majority). A judgment that failed (call error, timeout, unparsable text) is a judge
error: counted, kept in ``judgments/<benchmark>.parquet``, never a rating, win, loss or tie; a sample without any
usable judgment is an errored sample (excluded from ``n``).

* single (MT-Bench): per-sample ``score`` (the turn ratings, pooled: the overall row is FastChat's mean over all
  judged turns), ``score_turn1``, ``score_turn2``;
* pairwise, ``fastchat`` rule: per pair, sample and turn the two games give one outcome (consistent verdicts win,
  inconsistent ones tie); ``win_rate`` / ``loss_rate`` / ``tie_rate`` / ``win_rate_adjusted`` pool the outcomes of
  the model's battles (FastChat's counts), one battle per outcome for Bradley–Terry;
* ``battles`` rule (Arena-Hard): every game is a battle (strong verdicts 3); shares of battles per sample, and
  ``score`` = the Bradley–Terry win rate against the baseline with its bootstrap interval;
* ``mean`` rule (AlpacaEval): per instruction the mean preference over both games (identical outputs: 0.5);
  ``win_rate``, ``discrete_win_rate`` per sample and ``lc_win_rate`` from the length-controlled GLM.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from evalray.pipeline.judging import JudgedEntry, judged_entries
from evalray.rows import score_values
from evalray.scoring.judges.verdicts import combine_games

Row = dict[str, Any]


@dataclass
class JudgedRun:
    samples: dict[tuple[str, str], list[Row]] = field(default_factory=dict)
    judgments: dict[str, list[Row]] = field(default_factory=dict)
    battles: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[Row] = field(default_factory=list)


def combine(values: list[float], how: str) -> float:
    if how == "median":
        return float(statistics.median(values))
    if how == "majority":
        counts = Counter(values).most_common()
        top = [v for v, c in counts if c == counts[0][1]]
        return float(statistics.median(top))
    return float(sum(values) / len(values))


def reduce_judged(job, tables: Iterable[Any]) -> JudgedRun:
    """Everything the result needs from the judged execution's batches."""
    entries = judged_entries(job)
    answers: dict[tuple[str, str, str, int], Row] = {}
    judgments: dict[tuple, Row] = {}
    for table in tables:
        for row in table.to_pylist():
            turn = int(row.get("turn") or 0)
            if not row.get("judge"):
                answers[(row["benchmark"], row["model"], row["uid"], turn)] = row
            else:
                key = (row["benchmark"], row["model"], row["uid"], turn, row["judge"], row["judge_game"],
                       row["judge_repeat"], row["opponent"])
                judgments[key] = row
    run = JudgedRun()
    for name, entry in entries.items():
        mine = [r for k, r in judgments.items() if k[0] == name]
        run.judgments[name] = sorted(mine, key=lambda r: (r["model"], r["uid"], r["turn"], r["judge"],
                                                          r["opponent"], r["judge_game"], r["judge_repeat"]))
        run.errors += _error_counts(name, mine)
        answers_here = {k[1:]: r for k, r in answers.items() if k[0] == name}
        if entry.mode.startswith("correctness"):
            _correctness(run, entry, answers_here, mine)
        elif entry.mode == "single":
            _single(run, job, entry, answers_here, mine)
        else:
            _pairwise(run, job, entry, answers_here, mine)
    return run


def _error_counts(benchmark: str, judgments: list[Row]) -> list[Row]:
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in judgments:
        c = counts[(row["judge"], row["model"])]
        c["judgments"] += 1
        error = row.get("judge_error")
        if error:
            c["errors"] += 1
            c["unparsable" if "unparsable" in error or "verdict" in error or "rating" in error else "failed"] += 1
    return [{"benchmark": benchmark, "judge": j, "model": m, "judgments": c["judgments"], "errors": c["errors"],
             "unparsable": c["unparsable"], "failed": c["failed"]} for (j, m), c in sorted(counts.items())]


def _sample_row(answer: Row, scores: dict[str, Any], error: str | None) -> Row:
    answers = list(answer.get("answers") or [])
    return {**{k: answer.get(k) for k in ("uid", "id", "benchmark", "subset", "model", "mode", "prompt", "messages",
                                          "target")},
            "served_by": answer.get("answered_by"), "node_id": answer.get("answered_on"),
            "output": "\n\n".join(answers), "texts": answers,
            "scores": {k: v for k, v in scores.items() if not isinstance(v, list)},
            "score_lists": {k: v for k, v in scores.items() if isinstance(v, list)},
            "extracted": None, "error": error}


def _first_answers(answers: dict[tuple, Row]) -> dict[tuple[str, str], Row]:
    return {(m, uid): row for (m, uid, turn), row in answers.items() if turn == 0}


def _answer_error(answers, model, uid, turns) -> str | None:
    for turn in range(turns):
        row = answers.get((model, uid, turn))
        if row is None:
            return f"no answer for turn {turn + 1}" if turn else "no answer"
        if row.get("answer_error"):
            return row["answer_error"]
    return None


def _single(run: JudgedRun, job, entry: JudgedEntry, answers, judgments) -> None:
    how = entry.entry.arena.aggregate if entry.entry.arena else "mean"
    values: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    errors: dict[tuple[str, str], str] = {}
    for row in judgments:
        if row.get("verdict_value") is not None and not row.get("judge_error"):
            values[(row["model"], row["uid"], row["turn"])].append(row["verdict_value"])
        else:
            errors.setdefault((row["model"], row["uid"]), row.get("judge_error") or "no verdict")
    for (model, uid), first in _first_answers(answers).items():
        ratings = {t: combine(values[(model, uid, t)], how) for t in range(entry.turns) if values.get((model, uid, t))}
        scores: dict[str, Any] = {f"score_turn{t + 1}": r for t, r in ratings.items()}
        if ratings:
            scores["score"] = [ratings[t] for t in sorted(ratings)]
        error = _answer_error(answers, model, uid, 1) or (None if ratings else errors.get((model, uid), "not judged"))
        run.samples.setdefault((model, entry.entry.name), []).append(_sample_row(first, scores, error))


def _pairwise(run: JudgedRun, job, entry: JudgedEntry, answers, judgments) -> None:
    from evalray.benchmarks import registry

    rule = registry.for_entry(entry.entry).game_rule
    how = entry.entry.arena.aggregate if entry.entry.arena else "mean"
    games: dict[tuple, dict[int, float]] = defaultdict(dict)  # (m1, m2, uid, turn, judge, repeat) -> game -> value
    weights: dict[tuple, dict[int, float]] = defaultdict(dict)
    errors: dict[tuple[str, str], str] = {}
    for row in judgments:
        key = (row["model"], row["opponent"], row["uid"], row["turn"], row["judge"], row["judge_repeat"])
        if row.get("verdict_value") is not None and not row.get("judge_error"):
            games[key][row["judge_game"]] = row["verdict_value"]
            weights[key][row["judge_game"]] = row.get("verdict_weight") or 1.0
        else:
            for m in (row["model"], row["opponent"]):
                errors.setdefault((m, row["uid"]), row.get("judge_error") or "no verdict")
    outcomes: dict[tuple, list[float]] = defaultdict(list)  # (m1, m2, uid, turn) -> outcome for m1 per judge/repeat
    battles = []
    from evalray.scoring.arena.bradley_terry import Battle, style_features

    first_answers = _first_answers(answers)
    for (m1, m2, uid, turn, _judge, _rep), pair in games.items():
        if rule == "battles":  # Arena-Hard: every game its own battle, both games needed for neither
            for game, value in pair.items():
                outcome = value if game == 1 else 1.0 - value
                outcomes[(m1, m2, uid, turn)].append(outcome)
                style = _style(first_answers, m1, m2, uid, style_features) if _style_on(entry) else ()
                battles.append(Battle(m1, m2, outcome, weights[(m1, m2, uid, turn, _judge, _rep)][game], style))
            continue
        if rule == "mean":  # AlpacaEval: the mean preference for model 1 over the games that have a verdict
            prefs = [v if game == 1 else 1.0 - v for game, v in pair.items()]
            outcomes[(m1, m2, uid, turn)].append(sum(prefs) / len(prefs))
        elif 1 in pair and 2 in pair:  # FastChat: both orders, consistent verdicts win
            outcomes[(m1, m2, uid, turn)].append(combine_games(pair[1], pair[2], rule))
    # identical outputs (AlpacaEval): a draw with no judge call
    for m1, m2 in entry.pairs:
        for (model, uid), first in first_answers.items():
            if model != m1 or (m2, uid) not in first_answers or rule != "mean":
                continue
            if not _answer_error(answers, m1, uid, 1) and not _answer_error(answers, m2, uid, 1) and \
                    first["answers"][0] == first_answers[(m2, uid)]["answers"][0]:
                outcomes[(m1, m2, uid, 0)] = [0.5]
    per_model: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)  # (model, uid) -> (outcome, w)
    for (m1, m2, uid, turn), values in outcomes.items():
        if rule == "battles":
            for v in values:
                per_model[(m1, uid)].append((v, 1.0))
                per_model[(m2, uid)].append((1.0 - v, 1.0))
            continue
        outcome = combine(values, how)
        if rule == "fastchat":
            outcome = 1.0 if outcome > 0.5 else 0.0 if outcome < 0.5 else 0.5
        battles.append(Battle(m1, m2, outcome))
        per_model[(m1, uid)].append((outcome, 1.0))
        per_model[(m2, uid)].append((1.0 - outcome, 1.0))
    run.battles[entry.entry.name] = battles
    for (model, uid), first in first_answers.items():
        observed = per_model.get((model, uid), [])
        scores = _pair_scores([o for o, _ in observed], rule) if observed and model != entry.baseline else {}
        error = _answer_error(answers, model, uid, entry.turns)
        if error is None and not observed and model != entry.baseline:
            error = errors.get((model, uid), "not judged")
        run.samples.setdefault((model, entry.entry.name), []).append(_sample_row(first, scores, error))


def _pair_scores(outcomes: list[float], rule: str) -> dict[str, Any]:
    if rule == "mean":  # AlpacaEval: one preference per instruction
        p = outcomes[0]
        return {"win_rate": p, "discrete_win_rate": 1.0 if p > 0.5 else 0.0 if p < 0.5 else 0.5}
    return {"win_rate": [float(o == 1.0) for o in outcomes], "loss_rate": [float(o == 0.0) for o in outcomes],
            "tie_rate": [float(o == 0.5) for o in outcomes], "win_rate_adjusted": list(outcomes)}


def _style_on(entry: JudgedEntry) -> bool:
    return bool(entry.entry.arena and entry.entry.arena.style_control)


def _style(first_answers, m1, m2, uid, features) -> tuple[float, ...]:
    a = features(first_answers[(m1, uid)]["answers"][0]) if (m1, uid) in first_answers else (0.0,) * 4
    b = features(first_answers[(m2, uid)]["answers"][0]) if (m2, uid) in first_answers else (0.0,) * 4
    return tuple(a) + tuple(b)


def _correctness(run: JudgedRun, entry: JudgedEntry, answers, judgments) -> None:
    """``judge: {strategy: llm | auto}``: the benchmark's primary metric is 1 when the judges (combined by
    ``aggregate``, then rounded at 0.5) call the answer correct; with ``auto`` the rule's own score stands wherever it
    found an answer (``extracted``), and the judge decides only the rest."""
    from evalray.benchmarks import registry

    metric = registry.for_entry(entry.entry).metrics[0]
    how = entry.entry.arena.aggregate if entry.entry.arena else "mean"
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    errors: dict[tuple[str, str], str] = {}
    for row in judgments:
        if row.get("verdict_value") is not None and not row.get("judge_error"):
            values[(row["model"], row["uid"])].append(row["verdict_value"])
        else:
            errors.setdefault((row["model"], row["uid"]), row.get("judge_error") or "no verdict")
    for (model, uid), first in _first_answers(answers).items():
        row_error = _answer_error(answers, model, uid, 1)
        rule = score_values(first)
        if first.get("extracted") is not None and rule:
            sample = _sample_row(first, rule, row_error)
            sample["extracted"] = first["extracted"]
        elif values.get((model, uid)):
            verdict = combine(values[(model, uid)], how)
            sample = _sample_row(first, {metric: 1.0 if verdict > 0.5 else 0.0}, row_error)
            sample["extracted"] = "judge"
        else:
            sample = _sample_row(first, {}, row_error or errors.get((model, uid), "not judged"))
        run.samples.setdefault((model, entry.entry.name), []).append(sample)
