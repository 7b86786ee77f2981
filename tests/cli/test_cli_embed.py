"""`evalray run` of a kind: embed job, its one-line errors, and `evalray benchmarks` listing the embedding tasks."""

from __future__ import annotations

import json

import yaml

from evalray.testing.fake_embeddings import FakeEmbeddings
from tests.conftest import run_cli
from tests.ray.test_pipeline_embedding import beir


def _job(tmp_path, model_url: str, benchmark: dict) -> str:
    path = tmp_path / "embed.yaml"
    path.write_text(yaml.safe_dump({
        "name": "embed-cli", "kind": "embed", "output": str(tmp_path / "out"),
        "ray": {"num_cpus": 2},
        "models": [{"name": "fake", "backend": "openai", "source": model_url, "resources": {"num_cpus": 0.25}}],
        "benchmarks": [benchmark],
    }))
    return str(path)


def test_an_embed_job_runs_from_the_cli(tmp_path):
    root = beir(tmp_path / "beir")
    with FakeEmbeddings() as server:
        done = run_cli("run", _job(tmp_path, server.url, {"name": "retrieval", "data_dir": str(root)}))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ndcg_at_10" in done.stdout and "ndcg_at_1000" not in done.stdout  # console: the quoted cut-offs only
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["status"] == "completed" and {"ndcg_at_1000", "map_at_10"} <= {r["metric"] for r in result["scores"]}


def test_a_malformed_pair_file_is_one_line_naming_file_row_and_column(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("sentence1,sentence2,score\na,b,1\nc,,2\n")
    done = run_cli("run", _job(tmp_path, "http://127.0.0.1:9/v1", {"name": "sts", "data_dir": str(pairs)}))
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and str(pairs) in lines[0] and "row 3" in lines[0] and "sentence2" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_reranker_named_but_not_declared_is_refused(tmp_path):
    path = _job(tmp_path, "http://127.0.0.1:9/v1", {"name": "retrieval", "data_dir": str(tmp_path),
                                                      "rerank": {"model": "nope"}})
    done = run_cli("validate", path)
    assert done.returncode == 2 and "rerank.model 'nope'" in done.stderr and "Traceback" not in done.stderr


def test_benchmarks_lists_the_embedding_tasks_with_their_kind():
    done = run_cli("benchmarks", env={"COLUMNS": "200"})
    assert done.returncode == 0
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 3}
    for name, kind in (("scifact", "embed/retrieval"), ("stsb", "embed/sts"), ("afqmc", "embed/sts"),
                       ("gsm8k", "eval")):
        assert kind in rows[name], rows.get(name)
