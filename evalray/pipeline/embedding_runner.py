"""Run a ``kind: embed`` job: every task's data read on the driver, texts encoded on each embedding model's actor pool
(each distinct text once per model), exact search and metrics on the driver, optional reranking on a reranker pool,
then the usual result.json, per-query Parquet and reports.

* retrieval: the corpus and the queries of all retrieval tasks go through the pool in one Ray Data execution; each
  document is encoded exactly once (its uid is ``<task>::document::<id>``); top-k by cosine similarity; with
  ``rerank:`` the top ``rerank.top_k`` of each query are rescored by the reranker pool and reported under the model
  name ``<embedder>+<reranker>``;
* sts: each distinct sentence of a task encoded once; or, with ``scorer:``, every pair scored by a reranker.

A failure stops the run with a one-line error; the rows of what finished are written with ``status: failed``.
"""

from __future__ import annotations

import datetime as dt
import platform
import uuid
from collections import Counter
from typing import Any

import numpy as np

from evalray import __version__
from evalray.benchmarks import embedding_tasks as tasks
from evalray.job.embed_spec import EmbedBenchmarkSpec, EmbedJobSpec, EmbeddingModelSpec
from evalray.job.loader import public_job_dict
from evalray.pipeline import embedding_scores as scores
from evalray.results.schema import RunResult
from evalray.scoring.retrieval import rank_documents

Row = dict[str, Any]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class EmbedRun:
    """The state of one run: data per task, vectors per model, result rows, who served what."""

    def __init__(self, job: EmbedJobSpec):
        self.job = job
        self.data = {b.result_name: tasks.load(b) for b in job.benchmarks}  # config errors before Ray starts
        self.models = {m.name: m for m in job.models}
        for b in job.benchmarks:
            if b.name == "rag":
                rag_metrics(b, b.judge is not None, b.embedder is not None)
        self.score_rows: list[Row] = []
        self.samples: dict[tuple[str, str], list[Row]] = {}
        self.counts: list[Row] = []
        self.served: Counter = Counter()
        self.judge_errors: list[Row] = []

    # ---- encoding ----------------------------------------------------------------------------------------------
    def texts_for(self, benchmark: EmbedBenchmarkSpec) -> dict[str, tuple[str, str]]:
        """uid -> (role, text) of every text the task needs encoded."""
        name, data = benchmark.result_name, self.data[benchmark.result_name]
        if isinstance(data, tasks.RetrievalData):
            wanted = {f"{name}::document::{d}": ("document", t) for d, t in data.corpus.items()}
            wanted.update({f"{name}::query::{q}": ("query", t) for q, t in data.queries.items()})
            return wanted
        return {f"{name}::text::{t}": ("text", t) for t in dict.fromkeys(data.text1 + data.text2)}

    def encode(self, model: EmbeddingModelSpec, wanted: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
        import pyarrow as pa
        import ray

        from evalray.models.embedding_stage import pool_stage

        uids = list(wanted)
        table = pa.table({"uid": uids, "role": [wanted[u][0] for u in uids], "text": [wanted[u][1] for u in uids]})
        dataset = ray.data.from_arrow(_blocks(table, model))
        vectors: dict[str, np.ndarray] = {}
        for batch in pool_stage(dataset, model).iter_batches(batch_format="pyarrow", batch_size=None):
            column = batch.column("embedding").combine_chunks()
            flat = column.flatten().to_numpy(zero_copy_only=False)
            matrix = flat.reshape(batch.num_rows, -1) if batch.num_rows else flat
            for uid, vector, actor, node in zip(batch.column("uid").to_pylist(), matrix,
                                               batch.column("served_by").to_pylist(),
                                               batch.column("node_id").to_pylist()):
                vectors[uid] = vector
                self.served[(model.name, actor, node)] += 1
        return vectors

    def rerank(self, reranker: EmbeddingModelSpec, pairs: list[tuple[str, str, str]]) -> dict[str, float]:
        """uid -> score of each (uid, query, document)."""
        import pyarrow as pa
        import ray

        from evalray.models.embedding_stage import pool_stage

        table = pa.table({"uid": [p[0] for p in pairs], "query": [p[1] for p in pairs],
                          "document": [p[2] for p in pairs]})
        found: dict[str, float] = {}
        for batch in pool_stage(ray.data.from_arrow(_blocks(table, reranker)), reranker).iter_batches(
                batch_format="pyarrow", batch_size=None):
            for uid, value, actor, node in zip(batch.column("uid").to_pylist(), batch.column("rerank_score").to_pylist(),
                                               batch.column("served_by").to_pylist(), batch.column("node_id").to_pylist()):
                found[uid] = float(value)
                self.served[(reranker.name, actor, node)] += 1
        return found

    # ---- tasks -------------------------------------------------------------------------------------------------
    def run_model(self, model: EmbeddingModelSpec) -> None:
        mine = [b for b in self.job.benchmarks if not b.scorer and b.name != "rag"]
        wanted: dict[str, tuple[str, str]] = {}
        for benchmark in mine:
            wanted.update(self.texts_for(benchmark))
        vectors = self.encode(model, wanted) if wanted else {}
        for benchmark in mine:
            name, data = benchmark.result_name, self.data[benchmark.result_name]
            if isinstance(data, tasks.RetrievalData):
                results = scores.retrieve(data, vectors, name, max(benchmark.k_values))
                self._add(model.name, name, *scores.retrieval_rows(data, results, benchmark.k_values, model.name, name),
                          expected=len(data.queries))
                if benchmark.rerank:
                    self.rerank_task(model, benchmark, data, results)
            elif benchmark.name == "pair_classification":
                self._add(model.name, name, *scores.pair_classification_rows(data, vectors, model.name, name),
                          expected=len(data.ids))
            else:
                self._add(model.name, name, *scores.sts_rows(data, vectors, model.name, name), expected=len(data.ids))

    def rerank_task(self, model: EmbeddingModelSpec, benchmark: EmbedBenchmarkSpec, data: tasks.RetrievalData,
                    results: dict[str, dict[str, float]]) -> None:
        assert benchmark.rerank is not None
        reranker = self.models[benchmark.rerank.model]
        name, combined = benchmark.result_name, f"{model.name}+{reranker.name}"
        top = {q: rank_documents(found)[:benchmark.rerank.top_k] for q, found in results.items()}
        rescored = self.rerank(reranker, [(f"{q}\t{d}", data.queries[q], data.corpus[d])
                                          for q, docs in top.items() for d in docs])
        reranked = {q: {d: rescored[f"{q}\t{d}"] for d in docs} for q, docs in top.items()}
        self._add(combined, name, *scores.retrieval_rows(data, reranked, benchmark.k_values, combined, name),
                  expected=len(data.queries))

    def run_scorers(self) -> None:
        for benchmark in self.job.benchmarks:
            if not benchmark.scorer:
                continue
            data = self.data[benchmark.result_name]
            if not isinstance(data, tasks.PairData):
                from evalray.errors import ConfigError

                raise ConfigError(f"benchmark {benchmark.result_name}: scorer: applies to sts tasks only")
            reranker = self.models[benchmark.scorer]
            found = self.rerank(reranker, [(i, a, b) for i, a, b in zip(data.ids, data.text1, data.text2)])
            self._add(reranker.name, benchmark.result_name,
                      *scores.scored_pair_rows(data, [found[i] for i in data.ids], reranker.name, benchmark.result_name),
                      expected=len(data.ids))

    def run_rag(self) -> None:
        import pyarrow as pa
        import ray

        from evalray.models.rag_stage import rag_stage

        for benchmark in self.job.benchmarks:
            if benchmark.name != "rag":
                continue
            data = self.data[benchmark.result_name]
            assert isinstance(data, tasks.RagData)
            judge = self.models[benchmark.judge] if benchmark.judge else None
            encoder = self.models[benchmark.embedder] if benchmark.embedder else None
            metrics = rag_metrics(benchmark, judge is not None, encoder is not None)
            name = benchmark.result_name
            table = pa.table({"uid": [f"{name}::{i}" for i in data.ids], "id": data.ids, "query": data.questions,
                              "output": data.answers, "contexts": pa.array(data.contexts, type=pa.list_(pa.string())),
                              "target": data.references})
            owner = judge or encoder
            assert owner is not None
            scored = []
            for batch in rag_stage(ray.data.from_arrow(_blocks(table, owner)), judge, encoder, metrics,
                                   benchmark.strictness).iter_batches(batch_format="pyarrow", batch_size=None):
                scored += batch.to_pylist()
            rows, samples, errors = scores.rag_rows(scored, metrics, owner.name, name, judge.name if judge else None)
            self.judge_errors += errors
            self._add(owner.name, name, rows, samples, expected=len(data.ids),
                      errors=sum(1 for s in samples if s["metric_errors"]))

    def _add(self, model: str, benchmark: str, rows: list[Row], samples: list[Row], expected: int,
             errors: int = 0) -> None:
        self.score_rows += rows
        self.samples[(model, benchmark)] = samples
        self.counts.append({"model": model, "benchmark": benchmark, "samples": len(samples), "errors": errors,
                            "expected": expected, "duplicates": 0})


def rag_metrics(benchmark: EmbedBenchmarkSpec, judge: bool, embedder: bool) -> list[str]:
    """The RAG metrics to compute: those asked for (or all), each only where its judge / embedder is there."""
    from evalray.errors import ConfigError
    from evalray.scoring.rag import RAG_METRICS

    def possible(metric: str) -> bool:
        return {"answer_relevancy": judge and embedder, "answer_similarity": embedder}.get(metric, judge)

    wanted = list(benchmark.metrics or [m for m in RAG_METRICS if possible(m)])
    missing = [m for m in wanted if not possible(m)]
    if missing:
        raise ConfigError(f"benchmark {benchmark.result_name}: {', '.join(missing)} needs "
                          f"{'an embedder' if not embedder else 'a judge'}")
    return wanted


def _blocks(table, model: EmbeddingModelSpec) -> list:
    """At least two blocks per replica, so the pool balances."""
    n = table.num_rows
    blocks = max(1, min(n, max(2 * model.replicas, n // max(1, model.batch_size * 4))))
    step = -(-n // blocks) if n else 1
    return [table.slice(start, step) for start in range(0, n, step)] or [table]


def run_embed_job(job: EmbedJobSpec, address: str | None = None, output: str | None = None):
    """Run the job; returns the same :class:`~evalray.pipeline.runner.RunOutcome` as an eval job."""
    import ray

    from evalray.pipeline.runner import RunOutcome, configure_ray_data, one_line_error
    from evalray.results import writers
    from evalray.runtime import ray_session

    started = now()
    run_id = f"{job.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    run = EmbedRun(job)
    status, error = "completed", None
    interrupted: BaseException | None = None
    try:
        with ray_session(address or job.ray.address, namespace=job.ray.namespace, runtime_env=job.runtime_env,
                         num_cpus=job.ray.num_cpus), configure_ray_data(job.ray.actor_start_timeout_s):
            for model in job.models:
                if model.kind == "embedding":
                    run.run_model(model)
            run.run_scorers()
            run.run_rag()
    except KeyboardInterrupt as exc:
        status, error, interrupted = "failed", "interrupted", exc
    except Exception as exc:  # noqa: BLE001 (one line in result.json, the rows that finished kept)
        status, error = "failed", one_line_error(exc)
    if status == "completed" and any(c["errors"] or c["samples"] < c["expected"] for c in run.counts):
        status = "partial"
    result = RunResult(
        run_id=run_id, name=job.name, status=status, started_at=started, finished_at=now(),
        job=public_job_dict(job), env={"evalray": __version__, "ray": ray.__version__,
                                       "python": platform.python_version()},
        scores=run.score_rows, counts=run.counts, error=error, judge_errors=run.judge_errors,
        actors=[{"model": m, "actor_id": a, "node_id": n, "samples": c}
                for (m, a, n), c in sorted(run.served.items(), key=lambda item: tuple(map(str, item[0])))],
    )
    location = writers.write_run(output or job.output, result, run.samples)
    if interrupted is not None:
        raise interrupted
    return RunOutcome(result=result.as_dict(), output=location)
