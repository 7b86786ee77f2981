"""The dashboard over a kind: embed run: its run page and per-query sample viewer render (an embed run writes no
mode, messages or served_by columns), showing the retrieved documents and per-query metrics."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from evalray.benchmarks.embedding_tasks import RetrievalData
from evalray.dashboard.app import create_app
from evalray.pipeline.embedding_scores import retrieval_rows
from evalray.results import writers
from evalray.results.schema import RunResult


def test_an_embed_run_renders(tmp_path):
    data = RetrievalData(corpus={"d1": "cats", "d2": "dogs bark"}, queries={"q1": "cats <b>?</b>", "q2": "dogs?"},
                         qrels={"q1": {"d1": 1}, "q2": {"d2": 1}})
    results = {"q1": {"d1": 0.9, "d2": 0.1}, "q2": {"d1": 0.8, "d2": 0.7}}
    rows, samples = retrieval_rows(data, results, (1, 10), "enc", "retrieval")
    result = RunResult(run_id="r1", name="embed", status="completed", started_at="2026-01-01T00:00:00+00:00",
                       finished_at="2026-01-01T00:00:01+00:00", job={"kind": "embed"}, env={}, scores=rows,
                       counts=[{"model": "enc", "benchmark": "retrieval", "samples": 2, "errors": 0, "expected": 2}])
    writers.write_run(str(tmp_path / "runs" / "embed"), result, {("enc", "retrieval"): samples})
    client = TestClient(create_app(tmp_path / "runs"))
    page = client.get("/run/embed")
    assert page.status_code == 200 and "ndcg_at_10" in page.text
    viewer = client.get("/samples/embed", params={"model": "enc", "benchmark": "retrieval"})
    assert viewer.status_code == 200 and "q1" in viewer.text and "q2" in viewer.text
    assert "retrieved" in viewer.text and "d2" in viewer.text  # the ranked document ids are shown
    assert "cats &lt;b&gt;?&lt;/b&gt;" in viewer.text and "<b>?</b>" not in viewer.text  # the query, escaped
