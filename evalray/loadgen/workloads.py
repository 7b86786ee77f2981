"""A perf job's workload made concrete before the run: the prompts (or sessions) and the run points, and each run
point's split into worker slices.

* no ``workload`` — the ``prompts:`` source (:mod:`evalray.loadgen.prompts`) under ``load``;
* ``synthetic`` — ``prompts`` random prompts, lengths drawn from ``input_tokens`` / ``output_tokens``;
* ``shared_prefix`` — ``groups`` random prefixes of exactly ``prefix_tokens`` tokens, each followed by
  ``prompts_per_group`` suffixes of drawn lengths; prompt ``p`` is suffix ``p // groups`` of group ``p % groups``;
* ``multi_turn`` — ``pool`` sessions (synthetic, or the conversations of a ShareGPT file), run by
  :class:`~evalray.loadgen.sessions.SessionEngine`;
* ``benchmark`` — a benchmark's generative requests (one per sample; requests cycle through them), answers
  scored by :mod:`evalray.loadgen.quality`;
* ``trace`` — one prompt per trace row (its own prompt, or one of exactly its input tokens; Mooncake rows are made
  of one block of ``block_tokens`` tokens per hash id, equal ids giving equal blocks) sent at the replay times.

Every token count is exact for ``prompts.tokenizer`` (:func:`evalray.loadgen.tokens.exact_text`); every draw comes
from the job's seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from evalray.errors import ConfigError
from evalray.job.perf_spec import PerfJobSpec
from evalray.job.perf_workload import (BenchmarkWorkload, MultiTurnWorkload, SharedPrefixWorkload, SyntheticWorkload,
                                       TraceWorkload)
from evalray.loadgen.engine import WorkerSlice
from evalray.loadgen.fleet import endpoint
from evalray.loadgen.lengths import draw
from evalray.loadgen.prompts import Prompt, load_prompts
from evalray.loadgen.quality import QualityPlan, benchmark_prompts
from evalray.loadgen.schedule import RunPoint, plan_slices, run_points
from evalray.loadgen.sessions import Session
from evalray.loadgen.tokens import Tokenizer, exact_text, load_tokenizer, word_vocabulary
from evalray.loadgen.trace import Trace, read_trace, replay_times

MAX_TRACE_PROMPT_TOKENS = 200_000_000  # all prompts of a trace replay are rendered before the run


@dataclass
class WorkloadPlan:
    prompts: list[Prompt]
    points: list[RunPoint]
    sessions: list[Session] | None = None
    replay: dict[float, np.ndarray] = field(default_factory=dict)  # trace: speed -> send times
    groups: int = 0  # shared_prefix: prompt p is in group p % groups
    quality: QualityPlan | None = None  # benchmark: how to score the answers
    trace_sessions: np.ndarray | None = None  # trace rows with session ids: (session, turn, session_turns) per row


def _synthetic(work: SyntheticWorkload, tokenizer: Tokenizer, rng: np.random.Generator) -> list[Prompt]:
    lengths = draw(work.input_tokens, work.prompts, rng)
    outputs = draw(work.output_tokens, work.prompts, rng)
    return [Prompt(exact_text(tokenizer, int(n), rng), int(n), int(m)) for n, m in zip(lengths, outputs)]


def _shared_prefix(work: SharedPrefixWorkload, tokenizer: Tokenizer, rng: np.random.Generator) -> list[Prompt]:
    prefixes = [exact_text(tokenizer, work.prefix_tokens, rng) for _ in range(work.groups)]
    count = work.groups * work.prompts_per_group
    suffixes = draw(work.suffix_tokens, count, rng)
    outputs = draw(work.output_tokens, count, rng)
    prompts = []
    for p in range(count):
        text = exact_text(tokenizer, int(suffixes[p]), rng, prefix=prefixes[p % work.groups])
        prompts.append(Prompt(text, work.prefix_tokens + int(suffixes[p]), int(outputs[p])))
    return prompts


def _conversations(path: str, limit: int) -> list[list[tuple[str, str | None]]]:
    """(user message, the file's answer or None) per turn of each ShareGPT conversation."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the conversations ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    sessions = []
    for item in data if isinstance(data, list) else []:
        turns: list[tuple[str, str | None]] = []
        for message in (item.get("conversations") or item.get("conversation") or []) if isinstance(item, dict) else []:
            role, text = message.get("from"), str(message.get("value", ""))
            if role in ("human", "user") and text.strip():
                turns.append((text, None))
            elif role in ("gpt", "assistant", "chatgpt") and turns and turns[-1][1] is None:
                turns[-1] = (turns[-1][0], text)
        if turns:
            sessions.append(turns[:limit])
    if not sessions:
        raise ConfigError(f"{path}: no ShareGPT conversations (a list of {{'conversations': [{{'from': 'human', "
                          "'value': ...}}]}})")
    return sessions


def _sessions(work: MultiTurnWorkload, tokenizer: Tokenizer, rng: np.random.Generator) -> list[Session]:
    if work.conversations:
        plans = []
        for turns in _conversations(work.conversations, work.max_turns)[: work.pool]:
            outputs = draw(work.output_tokens, len(turns), rng)
            sizes = [len(tokenizer.encode(answer)) if answer else int(m) for (_, answer), m in zip(turns, outputs)]
            think = draw(work.think_time_s, len(turns), rng, integer=False)
            plans.append(Session([(text, max(1, n)) for (text, _), n in zip(turns, sizes)], think.tolist()))
        return plans
    counts = np.minimum(draw(work.turns, work.pool, rng), work.max_turns)
    plans = []
    for n in counts.tolist():
        lengths, outputs = draw(work.input_tokens, n, rng), draw(work.output_tokens, n, rng)
        think = draw(work.think_time_s, n, rng, integer=False)
        turns = [(exact_text(tokenizer, int(k), rng), int(m)) for k, m in zip(lengths, outputs)]
        plans.append(Session(turns, think.tolist()))
    return plans


def _trace_prompts(work: TraceWorkload, trace: Trace, count: int, tokenizer: Tokenizer,
                   rng: np.random.Generator) -> list[Prompt]:
    total = int(trace.input_tokens[:count].sum())
    if total > MAX_TRACE_PROMPT_TOKENS:
        raise ConfigError(f"{work.file}: {count:,} rows hold {total:,} prompt tokens, more than the "
                          f"{MAX_TRACE_PROMPT_TOKENS:,} a replay renders; set workload.max_requests or max_duration_s")
    words = word_vocabulary(tokenizer)
    blocks: dict[int, list[str]] = {}
    prompts = []
    for i in range(count):
        wanted, output = int(trace.input_tokens[i]), max(1, int(trace.output_tokens[i]))
        own, ids = trace.prompts[i], trace.hash_ids[i]
        if own is not None:
            prompts.append(Prompt(own, len(tokenizer.encode(own)), output))
        elif ids and len(words) >= 16:
            parts: list[str] = []
            for h in ids:
                if h not in blocks:
                    pick = np.random.default_rng([work.block_tokens, h]).integers(0, len(words), work.block_tokens)
                    blocks[h] = [words[j] for j in pick]
                parts.extend(blocks[h])
                if len(parts) >= wanted:
                    break
            parts = parts[:wanted]
            text = " ".join(parts)
            if len(parts) < wanted:
                text = exact_text(tokenizer, wanted - len(parts), rng, prefix=text)
            prompts.append(Prompt(text, wanted, output))
        else:
            prompts.append(Prompt(exact_text(tokenizer, max(1, wanted), rng), max(1, wanted), output))
    return prompts


def plan_workload(spec: PerfJobSpec) -> WorkloadPlan:
    """The prompts or sessions and the run points of a job."""
    work = spec.workload
    rng = np.random.default_rng([spec.seed, 15])
    if work is None:
        hint = max(spec.load.num_requests or 0, 1000)
        return WorkloadPlan(load_prompts(spec.prompts, hint, spec.seed), run_points(spec.load))
    tokenizer = load_tokenizer(spec.prompts.tokenizer)
    if isinstance(work, SyntheticWorkload):
        return WorkloadPlan(_synthetic(work, tokenizer, rng), run_points(spec.load))
    if isinstance(work, SharedPrefixWorkload):
        return WorkloadPlan(_shared_prefix(work, tokenizer, rng), run_points(spec.load), groups=work.groups)
    if isinstance(work, MultiTurnWorkload):
        return WorkloadPlan([], run_points(spec.load), sessions=_sessions(work, tokenizer, rng))
    if isinstance(work, BenchmarkWorkload):
        prompts, quality = benchmark_prompts(work, endpoint(spec)[3], spec.seed, tokenizer)
        return WorkloadPlan(prompts, run_points(spec.load), quality=quality)
    trace = read_trace(work.file, work.format, work.max_requests)
    replay = {speed: replay_times(trace, speed, work.max_duration_s) for speed in work.speed}
    count = max(times.size for times in replay.values())
    prompts = _trace_prompts(work, trace, count, tokenizer, rng)
    return WorkloadPlan(prompts, [RunPoint(speed=s) for s in work.speed], replay=replay,
                        trace_sessions=trace_sessions(trace.sessions[:count]))


def trace_sessions(ids: list[str | None]) -> np.ndarray | None:
    """Rows ``(session, turn, session_turns)`` of a trace's session ids (sessions numbered by first appearance,
    turns in time order; a row without an id is a session of its own), or None when no row has one."""
    if all(i is None for i in ids):
        return None
    number: dict[str, int] = {}
    out = np.zeros((len(ids), 3), dtype=np.int64)
    seen: dict[int, int] = {}
    for row, key in enumerate(ids):
        session = number.setdefault(key if key is not None else f"\0{row}", len(number))
        out[row, 0], out[row, 1] = session, seen.get(session, 0)
        seen[session] = out[row, 1] + 1
    out[:, 2] = [seen[s] for s in out[:, 0]]
    return out


def with_trace_sessions(table: pa.Table, plan: WorkloadPlan) -> pa.Table:
    """A trace run's records with the ``session``, ``turn`` and ``session_turns`` of their rows."""
    if plan.trace_sessions is None or "session" in table.column_names:
        return table
    rows = plan.trace_sessions[table["request_id"].to_numpy()] if table.num_rows else np.zeros((0, 3), np.int64)
    for column, (name, kind) in enumerate((("session", pa.int64()), ("turn", pa.int32()),
                                           ("session_turns", pa.int32()))):
        table = table.append_column(pa.field(name, kind), pa.array(rows[:, column], kind))
    return table


def plan_point(plan: WorkloadPlan, spec: PerfJobSpec, point: RunPoint, workers: int, seed: int) -> list[WorkerSlice]:
    """Each worker's share of one run point: trace row ``i`` (or request, or session ``i``) goes to worker
    ``i mod workers``."""
    if point.speed is not None:
        times = plan.replay[point.speed]
        return [WorkerSlice(worker=w, first_id=w, stride=workers, count=int(times[w::workers].size),
                            intended=times[w::workers]) for w in range(workers)]
    load = spec.load
    if isinstance(spec.workload, MultiTurnWorkload):  # the load's units are sessions
        load = load.model_copy(update={"num_requests": spec.workload.sessions,
                                       "warmup_requests": spec.workload.warmup_sessions})
    elif plan.quality is not None and not load._given & {"num_requests", "duration_s"}:  # every sample once
        load = load.model_copy(update={"num_requests": len(plan.prompts)})
    return plan_slices(point, load, workers, seed)
