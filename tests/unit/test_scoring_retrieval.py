"""Retrieval and STS metrics against hand computations: ties, several relevant documents, graded relevance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evalray.scoring import retrieval


def test_ties_are_broken_by_document_id_descending_as_trec_eval_does():
    assert retrieval.rank_documents({"a": 0.5, "c": 0.5, "b": 0.9, "d": 0.1}) == ["b", "c", "a", "d"]


def test_graded_relevance_and_several_relevant_documents_by_hand():
    # ranking: d1 (grade 2), d2 (0), d3 (1), d4 (not judged); d5 (grade 1) is never retrieved
    ranked = ["d1", "d2", "d3", "d4"]
    qrels = {"d1": 2, "d2": 0, "d3": 1, "d5": 1}
    values = retrieval.query_metrics(ranked, qrels, k_values=(1, 3, 10))
    dcg3 = 2 / math.log2(2) + 1 / math.log2(4)
    idcg3 = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert values["ndcg_at_3"] == pytest.approx(dcg3 / idcg3)
    assert values["ndcg_at_1"] == pytest.approx(1.0)
    # three relevant documents (grade >= 1): d1 at rank 1 (P=1), d3 at rank 3 (P=2/3); divided by 3, not by 2
    assert values["map_at_3"] == pytest.approx((1 + 2 / 3) / 3)
    assert values["map_at_1"] == pytest.approx(1 / 3)
    assert values["recall_at_3"] == pytest.approx(2 / 3) and values["recall_at_10"] == pytest.approx(2 / 3)
    assert values["precision_at_3"] == pytest.approx(2 / 3)
    assert values["precision_at_10"] == pytest.approx(2 / 10)  # over k, though only 4 were retrieved
    assert values["mrr_at_10"] == 1.0 and values["hit_rate_at_1"] == 1.0


def test_first_relevant_document_late_and_none_relevant():
    values = retrieval.query_metrics(["x", "y", "z"], {"z": 1}, k_values=(2, 3))
    assert values["mrr_at_2"] == 0.0 and values["mrr_at_3"] == pytest.approx(1 / 3)
    assert values["ndcg_at_3"] == pytest.approx((1 / math.log2(4)) / 1.0)
    assert values["hit_rate_at_2"] == 0.0
    nothing = retrieval.query_metrics(["x"], {"x": 0}, k_values=(1,))
    assert nothing["ndcg_at_1"] == 0.0 and nothing["map_at_1"] == 0.0 and nothing["recall_at_1"] == 0.0


def test_a_tie_decides_the_rank_of_the_relevant_document():
    scores = {"a": 0.7, "b": 0.7}  # tied: b ranks first (id descending)
    assert retrieval.query_metrics(retrieval.rank_documents(scores), {"a": 1}, (1,))["mrr_at_1"] == 0.0
    assert retrieval.query_metrics(retrieval.rank_documents(scores), {"b": 1}, (1,))["mrr_at_1"] == 1.0


def test_top_k_is_exact():
    rng = np.random.default_rng(0)
    queries, corpus = rng.normal(size=(7, 5)), rng.normal(size=(50, 5))
    indices, scores = retrieval.top_k(queries, corpus, 10, block=3)
    full = queries @ corpus.T
    for row in range(7):
        assert list(indices[row]) == list(np.argsort(-full[row])[:10])
        assert np.allclose(scores[row], np.sort(full[row])[::-1][:10], atol=1e-5)
    assert retrieval.top_k(queries, corpus[:4], 10)[0].shape == (7, 4)


def test_sts_similarities_by_hand():
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    b = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert np.allclose(retrieval.similarity(a, b, "cosine"), [1.0, 1 / math.sqrt(2), 0.0])
    assert np.allclose(retrieval.similarity(a, b, "manhattan"), [0.0, -1.0, -4.0])
    assert np.allclose(retrieval.similarity(a, b, "euclidean"), [0.0, -1.0, -math.sqrt(8)])
    assert np.allclose(retrieval.similarity(a, b, "dot"), [1.0, 1.0, 0.0])
    values = retrieval.sts_metrics(a, b, [5.0, 3.0, 1.0])
    assert values["cosine_spearman"] == pytest.approx(1.0) and values["manhattan_spearman"] == pytest.approx(1.0)


def test_best_threshold_metrics_by_hand_never_splitting_ties():
    # sorted: 0.9 (1), 0.8 (0), 0.8 (1), 0.3 (0), 0.1 (1); cuts after 0.9, after both 0.8s, after 0.3
    scores, labels = [0.8, 0.1, 0.9, 0.3, 0.8], [0, 1, 1, 0, 1]
    values = retrieval.best_threshold_metrics(scores, labels)
    # cut after 0.9: 1 TP + 2 TN -> 3/5; after the 0.8s: 2 TP + 1 TN -> 3/5; after 0.3: 2 TP + 0 TN -> 2/5
    # (a cut between the two 0.8s, 1 TP + 1 TN... is never made: it would split a tie)
    assert values["accuracy"] == pytest.approx(3 / 5)
    # F1: after 0.9 P=1 R=1/3 F=0.5; after the 0.8s P=2/3 R=2/3 F=2/3; after 0.3 P=1/2 R=2/3 F=4/7
    assert values["f1"] == pytest.approx(2 / 3) and values["precision"] == pytest.approx(2 / 3)
    assert values["recall"] == pytest.approx(2 / 3)
    from sklearn.metrics import average_precision_score

    assert values["ap"] == pytest.approx(average_precision_score(labels, scores))
    flipped = retrieval.best_threshold_metrics([-s for s in scores], labels, higher_is_similar=False)
    assert flipped == pytest.approx(values)
