"""From embeddings (and reranker scores) to result rows: retrieval and STS metrics, intervals, per-query rows.

Retrieval values are means over queries with their standard error and a normal 95% interval; STS correlations get a
Fisher-z interval (Pearson: se = 1/sqrt(n-3); Spearman: Bonett & Wright's se = sqrt((1 + r²/2)/(n-3))), no stderr.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import numpy as np

from evalray.benchmarks.embedding_tasks import PairData, RetrievalData
from evalray.scoring import retrieval

Row = dict[str, Any]
KEPT_IN_ROWS = 100  # top documents kept per query in samples/<model>/<benchmark>.parquet


def retrieve(data: RetrievalData, vectors: Mapping[str, np.ndarray], task: str, k: int) -> dict[str, dict[str, float]]:
    """Exact top-k search of every query over the corpus: query id -> {doc id: score}."""
    doc_ids = list(data.corpus)
    corpus = np.stack([vectors[f"{task}::document::{d}"] for d in doc_ids]) if doc_ids else np.zeros((0, 1))
    query_ids = list(data.queries)
    queries = np.stack([vectors[f"{task}::query::{q}"] for q in query_ids]) if query_ids else np.zeros((0, 1))
    corpus, queries = _unit(corpus), _unit(queries)  # cosine similarity, whatever the model's normalisation
    indices, scores = retrieval.top_k(queries, corpus, k)
    return {q: {doc_ids[int(i)]: float(s) for i, s in zip(indices[row], scores[row])}
            for row, q in enumerate(query_ids)}


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def retrieval_rows(data: RetrievalData, results: Mapping[str, Mapping[str, float]], k_values: Sequence[int],
                   model: str, benchmark: str) -> tuple[list[Row], list[Row]]:
    """(score rows, per-query sample rows)."""
    per_query, samples = [], []
    for query_id, text in data.queries.items():
        found = results.get(query_id, {})
        ranked = retrieval.rank_documents(found)
        values = retrieval.query_metrics(ranked, data.qrels[query_id], k_values)
        per_query.append(values)
        samples.append({
            "uid": f"{benchmark}::{query_id}", "id": query_id, "benchmark": benchmark, "model": model,
            "prompt": text, "retrieved": ranked[:KEPT_IN_ROWS],
            "retrieved_scores": [float(found[d]) for d in ranked[:KEPT_IN_ROWS]],
            "relevant": json.dumps(data.qrels[query_id], sort_keys=True), "scores": values,
        })
    rows = []
    for metric in per_query[0] if per_query else []:
        observations = np.array([q[metric] for q in per_query], dtype=np.float64)
        rows.append(_mean_row(model, benchmark, metric, observations))
    return rows, samples


def _mean_row(model: str, benchmark: str, metric: str, observations: np.ndarray) -> Row:
    n = len(observations)
    mean = float(observations.mean()) if n else None
    stderr = float(observations.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    low = high = None
    if mean is not None and stderr is not None:
        low, high = max(0.0, mean - 1.959964 * stderr), min(1.0, mean + 1.959964 * stderr)  # metrics in [0, 1]
    return {"model": model, "benchmark": benchmark, "subset": None, "metric": metric, "level": "overall",
            "value": mean, "stderr": stderr, "ci_low": low, "ci_high": high, "n": n}


def correlation_row(model: str, benchmark: str, metric: str, value: float, n: int) -> Row:
    low = high = None
    if n > 3 and math.isfinite(value) and abs(value) < 1:
        se = 1 / math.sqrt(n - 3) if metric.endswith("pearson") else math.sqrt((1 + value**2 / 2) / (n - 3))
        z = math.atanh(value)
        low, high = math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)
    return {"model": model, "benchmark": benchmark, "subset": None, "metric": metric, "level": "overall",
            "value": value if math.isfinite(value) else None, "stderr": None, "ci_low": low, "ci_high": high, "n": n}


def sts_rows(data: PairData, vectors: Mapping[str, np.ndarray], model: str, benchmark: str) -> tuple[list[Row], list[Row]]:
    a = np.stack([vectors[f"{benchmark}::text::{t}"] for t in data.text1])
    b = np.stack([vectors[f"{benchmark}::text::{t}"] for t in data.text2])
    values = retrieval.sts_metrics(a, b, data.gold)
    rows = [correlation_row(model, benchmark, metric, value, len(data.gold)) for metric, value in values.items()]
    similarities = {kind: retrieval.similarity(a, b, kind) for kind in ("cosine", "manhattan", "euclidean", "dot")}
    samples = [{"uid": f"{benchmark}::{pair_id}", "id": pair_id, "benchmark": benchmark, "model": model,
                "prompt": data.text1[i], "output": data.text2[i], "target": str(data.gold[i]),
                "scores": {kind: float(s[i]) for kind, s in similarities.items()}}
               for i, pair_id in enumerate(data.ids)]
    return rows, samples


def pair_classification_rows(data: PairData, vectors: Mapping[str, np.ndarray], model: str,
                             benchmark: str) -> tuple[list[Row], list[Row]]:
    """Best-threshold accuracy / F1 / AP per similarity; n = pairs; no interval (a threshold fitted on the data)."""
    a = np.stack([vectors[f"{benchmark}::text::{t}"] for t in data.text1])
    b = np.stack([vectors[f"{benchmark}::text::{t}"] for t in data.text2])
    values = retrieval.pair_classification_metrics(a, b, [int(g) for g in data.gold])
    rows = [{"model": model, "benchmark": benchmark, "subset": None, "metric": metric, "level": "overall",
             "value": value, "stderr": None, "ci_low": None, "ci_high": None, "n": len(data.gold)}
            for metric, value in values.items()]
    cosine = retrieval.similarity(a, b, "cosine")
    samples = [{"uid": f"{benchmark}::{pair_id}", "id": pair_id, "benchmark": benchmark, "model": model,
                "prompt": data.text1[i], "output": data.text2[i], "target": str(int(data.gold[i])),
                "scores": {"cosine": float(cosine[i])}} for i, pair_id in enumerate(data.ids)]
    return rows, samples


def scored_pair_rows(data: PairData, scores: Sequence[float], model: str, benchmark: str) -> tuple[list[Row], list[Row]]:
    """STS scored by a reranker (cross-encoder): its score per pair against the gold scores."""
    values = retrieval.pair_metrics(scores, data.gold)
    rows = [correlation_row(model, benchmark, metric, value, len(data.gold)) for metric, value in values.items()]
    samples = [{"uid": f"{benchmark}::{pair_id}", "id": pair_id, "benchmark": benchmark, "model": model,
                "prompt": data.text1[i], "output": data.text2[i], "target": str(data.gold[i]),
                "scores": {"score": float(scores[i])}} for i, pair_id in enumerate(data.ids)]
    return rows, samples


def rag_rows(table_rows: Sequence[Mapping[str, Any]], metrics: Sequence[str], model: str, benchmark: str,
             judge: str | None) -> tuple[list[Row], list[Row], list[Row]]:
    """(score rows, sample rows, judge error rows) of a scored RAG benchmark; a failed metric is excluded from its n."""
    samples, errors = [], []
    for row in table_rows:
        values = dict(row.get("scores") or {})
        failed = json.loads(row.get("metric_errors") or "{}")
        samples.append({"uid": row["uid"], "id": row["id"], "benchmark": benchmark, "model": model,
                        "prompt": row["query"], "output": row["output"], "contexts": list(row["contexts"]),
                        "target": row["target"], "scores": values, "judge_calls": row.get("judge_calls"),
                        "metric_errors": json.dumps(failed, sort_keys=True) if failed else None})
    rows = []
    for metric in metrics:
        observations = np.array([s["scores"][metric] for s in samples if metric in s["scores"]], dtype=np.float64)
        rows.append(_mean_row(model, benchmark, metric, observations))
        reasons = [json.loads(s["metric_errors"]).get(metric, "") for s in samples if s["metric_errors"]]
        unreadable = sum(1 for r in reasons if r.startswith("unparsable:"))
        failed = sum(1 for r in reasons if r) - unreadable
        # the judge_errors layout of judged benchmarks, plus the metric (errors = unparsable + failed)
        errors.append({"benchmark": benchmark, "judge": judge, "model": model, "metric": metric,
                       "judgments": len(samples), "unparsable": unreadable, "failed": failed,
                       "errors": unreadable + failed})
    return rows, samples, errors
