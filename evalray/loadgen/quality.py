"""Quality under load (the ``benchmark`` workload): a benchmark's requests sent under load, every answer recorded
(:class:`AnswerEngine`: an ``answer`` column in the records) and scored afterwards, in the driver, with the
benchmark's own scorer; the figures sit beside the run point's latency figures, from the same requests.

Per run point, over measured requests (request ``i`` asks sample ``i mod n``): a failed request scores 0 (a score
that is a list of observations, such as IFEval's instructions, counts as their mean);
``accuracy = sum(score) / requests``; ``accuracy_answered = sum(score) / ok``; ``correct`` = requests with score 1;
of those, ``correct_within_slo`` meet every per-request SLO (ttft, tpot, e2e) and ``correct_violating_slo`` do not;
``goodput_correct = correct_within_slo / duration`` (correct answers per second within the SLOs; every correct
answer when no SLO is set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from evalray.errors import ConfigError
from evalray.job.perf_spec import Slo
from evalray.job.perf_workload import BenchmarkWorkload
from evalray.loadgen.client import HttpConnection, RequestState, answer_text
from evalray.loadgen.engine import LoadEngine
from evalray.loadgen.metrics import meets_slos, measured, request_times, successful
from evalray.loadgen.prompts import Prompt
from evalray.loadgen.records import rows_to_table
from evalray.loadgen.tokens import Tokenizer


class AnswerEngine(LoadEngine):
    """:class:`LoadEngine` that keeps every answer's text in its records (column ``answer``)."""

    def __init__(self, setup: Any, work: Any) -> None:
        super().__init__(setup, work)
        self.texts: dict[int, str] = {}

    def keep_text(self) -> bool:
        return True

    def _on_done(self, state: RequestState, conn: HttpConnection, reusable: bool) -> None:
        if state.error is None and state.status == 200:
            self.texts[state.request_id] = answer_text(state, self.setup.stream)
        super()._on_done(state, conn, reusable)

    def _record(self, state: RequestState) -> None:
        super()._record(state)
        self.rows[-1] = (*self.rows[-1], self.texts.pop(state.request_id, None))

    def _table(self, rows: list[tuple]) -> pa.Table:
        table = rows_to_table([r[:10] for r in rows], self.work.worker)
        return table.append_column(pa.field("answer", pa.string()), pa.array([r[10] for r in rows], pa.string()))


@dataclass
class QualityPlan:
    """The benchmark, its samples (in request order) with their modes, and the metric reported as accuracy."""

    benchmark: Any
    samples: list[Any]
    modes: list[str]
    metric: str
    name: str


def benchmark_prompts(work: BenchmarkWorkload, chat: bool, seed: int, tokenizer: Tokenizer) \
        -> tuple[list[Prompt], QualityPlan]:
    """One prompt per sample of the benchmark (its generative request, few-shot included)."""
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    if work.name not in registry.names():
        raise ConfigError(f"workload.name {work.name}: not a benchmark (see `evalray benchmarks`)")
    entry: dict[str, Any] = {"name": work.name, "data_dir": work.data_dir, "limit": work.limit}
    if work.few_shot is not None:
        entry["few_shot"] = work.few_shot
    spec = BenchmarkSpec(**entry)
    bench = registry.get(work.name)
    prompts, samples, modes = [], [], []
    for sample, request, mode in bench.requests(spec, chat, seed, force_generate=True):
        text = request.prompt or "\n".join(m.get("content", "") for m in request.messages)
        prompts.append(Prompt(text, len(tokenizer.encode(text)), int(work.max_tokens or request.max_tokens or 256),
                              tuple(request.messages), tuple(request.stop)))
        samples.append(sample)
        modes.append(mode)
    if not prompts:
        raise ConfigError(f"workload.name {work.name}: no samples")
    metric = bench.metrics[0] if getattr(bench, "metrics", None) else "score"
    return prompts, QualityPlan(bench, samples, modes, metric, work.name)


def _score(plan: QualityPlan, index: int, answer: str) -> float:
    from evalray.types import Generation

    score = plan.benchmark.score(plan.samples[index], Generation(texts=[answer]), plan.modes[index])
    value = score.values.get(plan.metric, next(iter(score.values.values()), 0.0))
    if isinstance(value, list):  # observations pooled by the benchmark (IFEval instructions): their mean here
        return float(np.mean(value)) if value else 0.0
    return float(value) if value is not None else 0.0


def quality_figures(table: pa.Table, plan: QualityPlan, slos: list[Slo]) -> dict[str, Any]:
    rows = measured(table)
    ok = successful(rows)
    n = len(plan.samples)
    scores = np.zeros(ok.num_rows)
    for k, (request_id, answer) in enumerate(zip(ok["request_id"].to_pylist(), ok["answer"].to_pylist())):
        scores[k] = _score(plan, request_id % n, answer or "")
    times = request_times(ok)
    within = meets_slos(times, times.e2e, slos) if ok.num_rows else np.zeros(0, dtype=bool)
    correct = scores >= 1.0
    send = rows["actual_send"].to_numpy() if rows.num_rows else np.zeros(0)
    duration = float(rows["end"].to_numpy().max() - send.min()) if rows.num_rows else 0.0
    good = int((correct & within).sum())
    return {"benchmark": plan.name, "metric": plan.metric, "requests": rows.num_rows, "scored": ok.num_rows,
            "accuracy": round(float(scores.sum() / rows.num_rows), 6) if rows.num_rows else None,
            "accuracy_answered": round(float(scores.mean()), 6) if ok.num_rows else None,
            "correct": int(correct.sum()), "correct_within_slo": good,
            "correct_violating_slo": int((correct & ~within).sum()),
            "goodput_correct": round(good / duration, 4) if duration > 0 else 0.0,
            "failed": int(rows.num_rows - ok.num_rows)}


def without_answers(table: pa.Table) -> pa.Table:
    """Records without the answer text (what the figures of every other workload see)."""
    return table.drop(["answer"]) if "answer" in table.column_names else table

