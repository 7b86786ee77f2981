"""Judging on Ray Data: answers -> judge requests -> each judge's own stage -> verdicts, streaming.

A judged benchmark's rows run in their own execution (after the rule-scored benchmarks, in the same Ray session):

1. every model's generate stage (its own pool, from its plugin), unioned; each answer is stamped ``answered_at``;
2. one :class:`JudgeRequests` actor turns answers into judge requests as they arrive. Single grading emits a
   request per answer at once. Pairwise needs both answers of an item, so the actor keeps each answer until the
   other model's answer of the same (benchmark, sample, turn) arrives, then emits both games (positions swapped) for
   every judge and repeat: a streaming join in one stateful actor, which works on Ray 2.60 without a blocking
   groupby/join and starts judging with the first complete pair (the price: one actor holds the unpaired answers,
   and a restarted actor forgets them). Every answer is also passed on as an *answer record* (``judge == ""``);
3. each judge's stage (``plugin_for(judge).build_stage``: any backend, its own replicas, resources and concurrency)
   answers its own rows; rows of other judges and answer records pass through it as ``kind: skip`` (no call), and the
   judge's text is moved into the judge columns right after its stage, so a later judge's stage cannot overwrite it;
4. verdicts are parsed (:mod:`evalray.scoring.judges.verdicts`), failing closed, and stamped ``judged_at``.

MT-Bench's second turn needs the model's own first answer: round 1 generates every judged benchmark's first turn
(and judges the single-turn ones); round 2 asks turn 2 with the turn-1 answer in the conversation and judges both
turns (turn-1 answers enter round 2 at once, so judging starts while turn 2 is generated).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalray import rows
from evalray.job.spec import BenchmarkSpec, JobSpec, ModelSpecBase
from evalray.models.registry import plugin_for

SKIP = "skip"


@dataclass(frozen=True)
class JudgedEntry:
    """A judged benchmark of the job: its mode, judges and the model pairs it compares."""

    entry: BenchmarkSpec
    mode: str
    judges: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]  # (model 1, model 2): game 1 puts model 1 in position A
    turns: int
    baseline: str | None


def judged_entries(job: JobSpec) -> dict[str, JudgedEntry]:
    from evalray.benchmarks import registry
    from evalray.benchmarks._judged import is_judged

    out: dict[str, JudgedEntry] = {}
    models = [m.name for m in job.models]
    for entry in job.benchmarks:
        benchmark = registry.for_entry(entry)
        strategy = entry.judge.strategy if entry.judge else "rule"
        if not is_judged(benchmark):
            if strategy != "rule":  # a generative benchmark whose correctness a judge decides (llm) or backs (auto)
                judges = tuple(entry.judges or [j.name for j in job.judges])
                out[entry.name] = JudgedEntry(entry, f"correctness_{strategy}", judges, (), 1, None)
            continue
        mode = benchmark.arena_mode(entry)
        baseline = None
        pairs: list[tuple[str, str]] = []
        if mode == "pairwise_baseline":
            baseline = (entry.arena.baseline if entry.arena and entry.arena.baseline else None) or models[0]
            pairs = [(m, baseline) for m in models if m != baseline]
        elif mode == "pairwise_all":
            pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
        judges = tuple(entry.judges or [j.name for j in job.judges])
        out[entry.name] = JudgedEntry(entry, mode, judges, tuple(pairs), benchmark.turns, baseline)
    return out


def split_rows(job: JobSpec, rows_by_model: dict[str, list[dict[str, Any]]]):
    """(rule-scored rows, judged rows) per model."""
    judged = set(judged_entries(job))
    rule = {m: [r for r in rs if r["benchmark"] not in judged] for m, rs in rows_by_model.items()}
    judged_rows = {m: [r for r in rs if r["benchmark"] in judged] for m, rs in rows_by_model.items()}
    return rule, judged_rows


def self_judging(judge: ModelSpecBase, model: ModelSpecBase) -> bool:
    """A judge and a model are the same when they share a name, or the same backend, source and model id (recorded
    answers, ``replay`` / ``simulated``, are never the same model as a judge by their source)."""
    if judge.name == model.name:
        return True
    return (judge.backend == model.backend and not plugin_for(judge).capabilities.recorded
            and judge.source == model.source and getattr(judge, "model_id", None) == getattr(model, "model_id", None))


# ---- the stages ---------------------------------------------------------------------------------------------------
def stamp_answered(table):
    """Right after generation: the time each answer arrived, and every judge column (so that fresh answers and an
    earlier round's answer records share one schema)."""
    defaults = {**rows.judge_defaults(), "answered_at": time.time()}
    return rows.append_judge_columns(table, [defaults] * table.num_rows, defaults)


class JudgeRequests:
    """Ray Data actor UDF (one actor): answers in, answer records and judge request rows out (see the module)."""

    def __init__(self, job_json: str, judge_turns: list[tuple[str, int]], record: bool) -> None:
        from evalray.benchmarks import registry

        self.job = JobSpec.model_validate_json(job_json)
        self.entries = judged_entries(self.job)
        self.benchmarks = {name: registry.for_entry(e.entry) for name, e in self.entries.items()}
        self.judge_turns = {(b, t) for b, t in judge_turns}
        self.record = record
        self.specs = {m.name: m for m in self.job.models}
        self.judges = {j.name: j for j in self.job.judges}
        self.pending: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}
        self.emitted: set[tuple[str, str, int, str, str]] = set()

    def __call__(self, table):
        out: list[dict[str, Any]] = []
        for row in table.to_pylist():
            request = rows.decode_request(row)
            generation = rows.decode_generation(row)
            previous = [m["content"] for m in request.messages if m.get("role") == "assistant"]
            replayed = bool(row.get("replayed"))
            answer = {**row, **rows.judge_defaults(), "answered_at": row.get("answered_at"),
                      "answers": list(row["answers"]) if replayed else previous + [generation.text],
                      "answer_error": row.get("answer_error") if replayed else generation.error,
                      "answered_by": row.get("answered_by") if replayed else row.get("served_by"),
                      "answered_on": row.get("answered_on") if replayed else row.get("node_id"),
                      "judge_request_kind": SKIP}
            answer.update(self._rule_score(answer, generation))
            if self.record and not replayed:
                out.append(answer)
            key = (row["benchmark"], request.turn)
            if key in self.judge_turns and not answer["answer_error"]:
                out += self._requests(answer, request.turn)
        return rows.table_from_rows(out) if out else table.slice(0, 0)

    def _requests(self, answer: dict[str, Any], turn: int) -> list[dict[str, Any]]:
        name = answer["benchmark"]
        entry = self.entries[name]
        if entry.mode.startswith("correctness"):
            return [req for judge in self._judges_for(entry, answer["model"])
                    for req in self._correctness(answer, judge, entry)]
        if entry.mode == "single":
            return [req for judge in self._judges_for(entry, answer["model"])
                    for req in self._single(answer, turn, judge, entry)]
        slot = self.pending.setdefault((name, answer["uid"], turn), {})
        slot[answer["model"]] = answer
        out = []
        for first, second in entry.pairs:
            done = (name, answer["uid"], turn, first, second)
            if first in slot and second in slot and done not in self.emitted:
                self.emitted.add(done)
                out += self._pair(slot[first], slot[second], turn, entry)
        return out

    def _judges_for(self, entry: JudgedEntry, *models: str) -> list[str]:
        allow = entry.entry.arena is not None and entry.entry.arena.self_judging
        return [j for j in entry.judges if allow or not any(self_judging(self.judges[j], self.specs[m])
                                                             for m in models)]

    def _repeats(self, entry: JudgedEntry) -> int:
        return entry.entry.arena.repeats if entry.entry.arena else 1

    def _correctness(self, answer, judge, entry) -> list[dict[str, Any]]:
        from evalray.scoring.judges.templates import builtin

        if answer.get("extracted") is not None:  # auto: the rule found an answer, no judge needed
            return []
        sample = rows.decode_sample(answer)
        values = {"question": sample.input, "target": sample.target, "answer": answer["answers"][-1]}
        return [self._row(answer, builtin("correctness-v1"), values, judge, 0, repeat, "", [])
                for repeat in range(self._repeats(entry))]

    def _rule_score(self, answer: dict[str, Any], generation) -> dict[str, Any]:
        """``auto``: the benchmark's own scorer first; its score travels on the answer record."""
        entry = self.entries.get(answer["benchmark"])
        empty = rows.encode_score(None, generation.text)
        if entry is None or entry.mode != "correctness_auto" or answer["answer_error"]:
            return empty
        try:
            score = self.benchmarks[answer["benchmark"]].score(rows.decode_sample(answer), generation, answer["mode"])
        except Exception:  # noqa: BLE001 (a scorer bug on one answer: the judge decides it instead)
            return empty
        return rows.encode_score(score, generation.text) if score.extracted is not None else empty

    def _single(self, answer, turn, judge, entry) -> list[dict[str, Any]]:
        benchmark = self.benchmarks[entry.entry.name]
        template, values = benchmark.single_judgment(rows.decode_sample(answer), answer["answers"], turn, entry.entry)
        return [self._row(answer, template, values, judge, 0, repeat, "", [])
                for repeat in range(self._repeats(entry))]

    def _pair(self, one, two, turn, entry) -> list[dict[str, Any]]:
        benchmark = self.benchmarks[entry.entry.name]
        if getattr(benchmark, "game_rule", "") == "mean" and one["answers"][turn] == two["answers"][turn]:
            return []  # identical outputs: a draw without a judge call (AlpacaEval)
        sample = rows.decode_sample(one)
        out = []
        for judge in self._judges_for(entry, one["model"], two["model"]):
            for game, (a, b) in ((1, (one, two)), (2, (two, one))):
                template, values = benchmark.pair_judgment(sample, a["answers"], b["answers"], turn, entry.entry)
                for repeat in range(self._repeats(entry)):
                    row = self._row(one, template, values, judge, game, repeat, two["model"], two["answers"])
                    row["answered_at"] = max(one.get("answered_at") or 0.0, two.get("answered_at") or 0.0) or None
                    out.append(row)
        return out

    def _row(self, answer, template, values, judge, game, repeat, opponent, opponent_answers) -> dict[str, Any]:
        from evalray.benchmarks._judged import judge_request

        request = judge_request(template, values, answer["uid"])
        # the judge's own request replaces the model's (its turn stays the judged turn: the judge sees one prompt)
        return {**answer, **rows.encode_request(request), "turn": answer["turn"], "judge": judge, "judge_game": game,
                "judge_repeat": repeat, "opponent": opponent, "opponent_answers": list(opponent_answers),
                "judge_prompt": template.render(values), "judge_sent_at": time.time(),
                "judge_request_kind": request.kind, "verdict_format": template.format, "kind": SKIP}


def route_to(judge: str):
    """Before a judge's stage: its rows get their request kind back, every other row is skipped."""
    def route(table):
        if "judge" not in table.column_names:
            return table
        names = table.column("judge").to_pylist()
        kinds = table.column("judge_request_kind").to_pylist()
        column = [kind if name == judge else SKIP for name, kind in zip(names, kinds)]
        return rows.append_columns(table, [{"kind": k} for k in column], [c for c in rows.REQUEST_COLUMNS
                                                                             if c.name == "kind"])
    return route


def harvest(judge: str):
    """After a judge's stage: its replies become judgments and parsed verdicts (other rows are left alone)."""
    def collect(table):
        from evalray.scoring.judges.verdicts import parse_verdict

        if "judge" not in table.column_names:
            return table
        updates = []
        for row in table.to_pylist():
            if row["judge"] != judge:
                updates.append({name: row.get(name) for name in HARVESTED})
                continue
            generation = rows.decode_generation(row)
            text = generation.text if row["verdict_format"] != "logprob" else " ".join(
                f"{t}:{v:.6f}" for t, v in zip(row["continuations"] or [], generation.loglikelihoods))
            verdict = None if generation.error else parse_verdict(row["verdict_format"], generation.text,
                                                                  generation.loglikelihoods)
            error = generation.error or (verdict.error if verdict else None)
            updates.append({"judgment": text, "verdict": verdict.label if verdict else None,
                            "verdict_value": verdict.value if verdict and not error else None,
                            "verdict_weight": float(verdict.weight) if verdict and not error else None,
                            "judge_error": f"judge {judge}: {error}"[:500] if error else None,
                            "judged_at": time.time()})
        return rows.append_judge_columns(table, updates, HARVESTED)
    return collect


HARVESTED = ("judgment", "verdict", "verdict_value", "verdict_weight", "judge_error", "judged_at")


def generation_dataset(models: Sequence[ModelSpecBase], rows_by_model: dict[str, list[dict[str, Any]]]):
    from evalray.pipeline.stages import request_dataset

    datasets = [plugin_for(m).build_stage(request_dataset(rows_by_model[m.name], m), m)
                for m in models if rows_by_model.get(m.name)]
    if not datasets:
        return None
    return datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]


def judge_dataset(ds, job: JobSpec, judges: Sequence[ModelSpecBase], judge_turns: list[tuple[str, int]],
                  record: bool):
    """Answers -> judge requests -> every judge's stage -> verdicts."""
    import ray

    ds = ds.map_batches(JudgeRequests, fn_constructor_args=(job.model_dump_json(), judge_turns, record),
                        compute=ray.data.ActorPoolStrategy(size=1), batch_format="pyarrow", batch_size=None,
                        num_cpus=0.1)
    for judge in judges:
        ds = ds.map_batches(route_to(judge.name), batch_format="pyarrow", num_cpus=0.1)
        ds = plugin_for(judge).build_stage(ds, judge)
        ds = ds.map_batches(harvest(judge.name), batch_format="pyarrow", num_cpus=0.1)
    return ds


# ---- the rounds ---------------------------------------------------------------------------------------------------
def execute_judged(job: JobSpec, models: Sequence[ModelSpecBase], judges: Sequence[ModelSpecBase],
                   rows_by_model: dict[str, list[dict[str, Any]]], bar=None, tables: list[Any] | None = None
                   ) -> list[Any]:
    """Run every judged benchmark's rounds; the Arrow batches (answer records and judgments) are appended to
    ``tables`` as they arrive (so what arrived survives an interruption) and returned."""
    entries = judged_entries(job)
    multi = {name for name, e in entries.items() if e.turns > 1}
    first_turn = [(name, 0) for name in entries if name not in multi]
    tables = [] if tables is None else tables
    ds = generation_dataset(models, rows_by_model)
    if ds is None:
        return tables
    ds = judge_dataset(ds.map_batches(stamp_answered, batch_format="pyarrow", num_cpus=0.1), job, judges,
                       first_turn, record=True)
    _drain(ds, tables, bar)
    if multi:
        _second_round(job, models, judges, entries, multi, tables, bar)
    return tables


def _second_round(job, models, judges, entries, multi, tables, bar) -> None:
    """Turn 2 (and later) of multi-turn benchmarks, asked with the model's own earlier answers."""
    import ray

    from evalray.benchmarks import registry

    earlier = [row for table in tables for row in table.to_pylist()
               if row["benchmark"] in multi and not row["judge"]]
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in earlier:
        if row.get("answer_error"):
            continue
        benchmark = registry.for_entry(entries[row["benchmark"]].entry)
        sample = rows.decode_sample(row)
        request = benchmark.turn_request(sample, list(row["answers"]), len(row["answers"]),
                                         entries[row["benchmark"]].entry)
        by_model.setdefault(row["model"], []).append(rows.request_row(sample, request, row["model"], row["mode"]))
    judge_turns = [(name, t) for name in multi for t in range(entries[name].turns)]
    replayed = [{**row, "replayed": True} for row in earlier]
    parts = []
    if replayed:
        parts.append(ray.data.from_arrow(rows.table_from_rows(replayed)))
    generated = generation_dataset(models, by_model)
    if generated is not None:
        parts.append(generated.map_batches(stamp_answered, batch_format="pyarrow", num_cpus=0.1))
    if parts:
        ds = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        _drain(judge_dataset(ds, job, judges, judge_turns, record=True), tables, bar)


def _drain(ds, tables: list[Any], bar) -> None:
    for batch in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        tables.append(batch)
        if bar is not None and "judge" in batch.column_names:
            bar.update(sum(1 for j in batch.column("judge").to_pylist() if not j))
