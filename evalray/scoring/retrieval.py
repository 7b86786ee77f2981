"""Retrieval and semantic-similarity metrics, defined as MTEB computes them (MTEB's evaluators are the reference).

Retrieval follows ``trec_eval`` (which MTEB calls through ``pytrec_eval``), with relevance level 1:

* a query's results are ranked by score descending, **ties broken by document id descending** (trec_eval's rule;
  MTEB's MRR sorts the same way);
* ``ndcg_at_k``: DCG of the top k with gain = graded relevance and discount ``1 / log2(rank + 1)``, over the ideal DCG
  of the query's judged documents sorted by relevance (0 when nothing is relevant);
* ``map_at_k``: the sum, over relevant documents in the top k, of precision at their rank, divided by the number of
  relevant documents of the query (not by those retrieved);
* ``recall_at_k``: relevant documents in the top k over all relevant documents; ``precision_at_k``: over k (also
  when fewer than k were retrieved); ``hit_rate_at_k``: 1 if any relevant document is in the top k;
* ``mrr_at_k``: 1 / rank of the first relevant document within the top k (0 if none).

"Relevant" means a qrel score ≥ 1; graded scores count as gains in nDCG only. The mean over queries is the reported
value (MTEB rounds it to 5 decimals; evalray does not).

STS follows MTEB's STS evaluator: cosine similarity, negative Manhattan and negative Euclidean distance, dot product
between each pair's embeddings, each correlated with the gold scores by Pearson and Spearman (``cosine_spearman`` is
the main score).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

DEFAULT_K_VALUES: tuple[int, ...] = (1, 3, 5, 10, 20, 100, 1000)
RETRIEVAL_FAMILIES: tuple[str, ...] = ("ndcg", "map", "recall", "precision", "mrr", "hit_rate")


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """Document ids by score descending, ties by id descending (trec_eval's order)."""
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def query_metrics(ranked: Sequence[str], relevance: Mapping[str, int | float],
                  k_values: Sequence[int] = DEFAULT_K_VALUES) -> dict[str, float]:
    """Every retrieval metric of one query at every cut-off, from its ranked document ids and its qrels."""
    relevant = {doc for doc, grade in relevance.items() if grade >= 1}
    ideal = sorted((float(g) for g in relevance.values() if g > 0), reverse=True)
    gains = [float(relevance.get(doc, 0)) if relevance.get(doc, 0) > 0 else 0.0 for doc in ranked]
    hits = [doc in relevant for doc in ranked]
    values: dict[str, float] = {}
    for k in k_values:
        top_gains, top_hits = gains[:k], hits[:k]
        dcg = sum(g / math.log2(i + 2) for i, g in enumerate(top_gains))
        idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal[:k]))
        found, precision_sum = 0, 0.0
        first = 0.0
        for i, hit in enumerate(top_hits):
            if hit:
                found += 1
                precision_sum += found / (i + 1)
                first = first or 1.0 / (i + 1)
        values[f"ndcg_at_{k}"] = dcg / idcg if idcg > 0 else 0.0
        values[f"map_at_{k}"] = precision_sum / len(relevant) if relevant else 0.0
        values[f"recall_at_{k}"] = found / len(relevant) if relevant else 0.0
        values[f"precision_at_{k}"] = found / k
        values[f"mrr_at_{k}"] = first
        values[f"hit_rate_at_{k}"] = 1.0 if found else 0.0
    return values


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over queries."""
    if not per_query:
        return {}
    return {name: float(np.mean([q[name] for q in per_query])) for name in per_query[0]}


def top_k(query_embeddings: np.ndarray, corpus_embeddings: np.ndarray, k: int,
          block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by dot product (cosine for normalised embeddings), per block of queries: (indices, scores), each
    of shape (queries, min(k, corpus)), best first (ties in index order; :func:`rank_documents` re-sorts by id)."""
    k = min(k, corpus_embeddings.shape[0])
    corpus = np.ascontiguousarray(corpus_embeddings, dtype=np.float32)
    indices, scores = [], []
    for start in range(0, query_embeddings.shape[0], block):
        sims = np.asarray(query_embeddings[start:start + block], dtype=np.float32) @ corpus.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else np.tile(
            np.arange(sims.shape[1]), (sims.shape[0], 1))
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        indices.append(np.take_along_axis(part, order, axis=1))
        scores.append(np.take_along_axis(part_scores, order, axis=1))
    if not indices:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(indices), np.concatenate(scores)


def similarity(a: np.ndarray, b: np.ndarray, kind: str) -> np.ndarray:
    """Row-wise similarity of two embedding matrices: cosine, manhattan / euclidean (negative distances), dot."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if kind == "cosine":
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        return np.sum(a * b, axis=1) / np.where(norms == 0, 1.0, norms)
    if kind == "manhattan":
        return -np.sum(np.abs(a - b), axis=1)
    if kind == "euclidean":
        return -np.sqrt(np.sum((a - b) ** 2, axis=1))
    if kind == "dot":
        return np.sum(a * b, axis=1)
    raise ValueError(f"unknown similarity '{kind}'")


def sts_metrics(a: np.ndarray, b: np.ndarray, gold: Sequence[float]) -> dict[str, float]:
    """Pearson and Spearman of each similarity against the gold scores (MTEB's names: ``cosine_spearman``, ...)."""
    from scipy.stats import pearsonr, spearmanr

    values: dict[str, float] = {}
    for kind in ("cosine", "manhattan", "euclidean", "dot"):
        sims = similarity(a, b, kind)
        values[f"{kind}_pearson"] = float(pearsonr(gold, sims)[0])
        values[f"{kind}_spearman"] = float(spearmanr(gold, sims)[0])
    return values


def pair_metrics(scores: Sequence[float], gold: Sequence[float]) -> dict[str, float]:
    """Pearson and Spearman of one list of pair scores (a reranker's, or one similarity) against gold scores."""
    from scipy.stats import pearsonr, spearmanr

    return {"pearson": float(pearsonr(gold, scores)[0]), "spearman": float(spearmanr(gold, scores)[0])}


def best_threshold_metrics(scores: Sequence[float], labels: Sequence[int], higher_is_similar: bool = True
                           ) -> dict[str, float]:
    """Pair classification at the best threshold (MTEB's definitions): pairs sorted by score (most similar first) and
    cut between two different scores (a cut never splits tied scores); ``accuracy`` at the best cut, ``f1`` with its
    ``precision`` and ``recall`` at the cut that maximises F1, and ``ap`` (average precision, scikit-learn's)."""
    from sklearn.metrics import average_precision_score

    values = np.asarray(scores, dtype=np.float64)
    gold = np.asarray(labels, dtype=np.int64)
    order = np.argsort(-values if higher_is_similar else values, kind="stable")
    ranked, ranked_gold = values[order], gold[order]
    positives, negatives = int(gold.sum()), int((gold == 0).sum())
    best_accuracy = best_f1 = best_precision = best_recall = 0.0
    taken_positive = 0
    for i in range(len(ranked) - 1):  # cut after position i: the first i + 1 pairs are called similar
        taken_positive += int(ranked_gold[i])
        if ranked[i] == ranked[i + 1]:
            continue
        taken = i + 1
        accuracy = (taken_positive + (negatives - (taken - taken_positive))) / len(ranked)
        best_accuracy = max(best_accuracy, accuracy)
        if taken_positive:
            precision, recall = taken_positive / taken, taken_positive / positives
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1, best_precision, best_recall = f1, precision, recall
    ap = float(average_precision_score(gold, values if higher_is_similar else -values)) if positives else 0.0
    return {"accuracy": best_accuracy, "f1": best_f1, "precision": best_precision, "recall": best_recall, "ap": ap}


def pair_classification_metrics(a: np.ndarray, b: np.ndarray, labels: Sequence[int]) -> dict[str, float]:
    """Best-threshold metrics of each similarity (``cosine_accuracy``, ``manhattan_ap``, ...) and their maxima over
    the similarities (``max_accuracy`` is MTEB's main score for C-MTEB's pair classification)."""
    values: dict[str, float] = {}
    maxima: dict[str, float] = {}
    for kind in ("cosine", "manhattan", "euclidean", "dot"):
        # manhattan / euclidean come as negative distances: higher is more similar for every kind
        for metric, value in best_threshold_metrics(similarity(a, b, kind), labels).items():
            values[f"{kind}_{metric}"] = value
            maxima[metric] = max(maxima.get(metric, value), value)
    values.update({f"max_{metric}": value for metric, value in maxima.items()})
    return values
