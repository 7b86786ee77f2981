"""Dashboard pages and JSON over runs written by evalray's writers: runs list, run page numbers equal result.json,
sample viewer filters and pages on the server (checked against a direct filter of the Parquet file), untrusted text is
escaped, comparison of two models, live progress of a running job."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from evalray.dashboard.app import create_app
from evalray.results.progress import ProgressWriter
from tests.browser.fixtures import write_eval_run

SUBSETS = ("algebra", "biology", "chemistry")


def _items(wrong_every: int) -> list[dict]:
    items = []
    for i in range(90):
        items.append({"id": f"{SUBSETS[i % 3]}/{i // 3}", "subset": SUBSETS[i % 3], "correct": i % wrong_every != 0,
                      "prompt": f"Question {i}: <script>alert({i})</script> what is 3 + 4?"})
    items[5]["error"] = "replay: no output"
    return items


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    write_eval_run(root / "pair", "pair", "toy", {"base": _items(3), "tuned": _items(4)})
    write_eval_run(root / "nested" / "single", "single", "toy", {"solo": _items(2)})
    return root


@pytest.fixture(scope="module")
def client(root) -> TestClient:
    return TestClient(create_app(root))


def test_runs_list_and_api(client, root):
    runs = {r["rel"]: r for r in client.get("/api/runs").json()}
    assert set(runs) == {"pair", "nested/single"}
    assert runs["pair"]["models"] == ["base", "tuned"] and runs["pair"]["status"] == "partial"
    assert runs["pair"]["duration_s"] == 30.0
    page = client.get("/").text
    assert 'href="/run/nested/single"' in page and "tuned" in page


def test_run_page_shows_result_json_numbers(client, root):
    result = json.loads((root / "pair" / "result.json").read_text())
    page = client.get("/run/pair").text
    for row in result["scores"]:
        if row["level"] == "overall":
            assert f'<td class="num value">{row["value"]:.4f}</td>' in page
            assert f'[{row["ci_low"]:.4f}, {row["ci_high"]:.4f}]' in page
    assert 'id="scores-chart"' in page and "/static/plotly.min.js" in page
    assert 'id="compare-models"' in page and "replay: no output" in page  # errors by message


def _direct(root: Path, model: str, subset: str | None, status: str) -> list[str]:
    table = pq.read_table(root / "pair" / "samples" / model / "toy.parquet").to_pylist()
    keep = []
    for row in table:
        if subset and row["subset"] != subset:
            continue
        right = not row["error"] and row["scores"]["exact_match"] == 1.0
        if status == "incorrect" and (row["error"] or right) or status == "error" and not row["error"]:
            continue
        keep.append(row["id"])
    return keep


@pytest.mark.parametrize("subset,status", [(None, "all"), (None, "incorrect"), ("biology", "incorrect"),
                                           ("chemistry", "all"), (None, "error")])
def test_sample_api_filters_and_pages_on_the_server(client, root, subset, status):
    expected = _direct(root, "base", subset, status)
    got, page = [], 1
    while True:
        params = {"model": "base", "benchmark": "toy", "status": status, "size": 7, "page": page}
        if subset:
            params["subset"] = subset
        data = client.get("/api/samples/pair", params=params).json()
        assert len(data["rows"]) <= 7 and data["matched"] == len(expected) and data["total"] == 90
        got += [r["id"] for r in data["rows"]]
        if page >= data["pages"]:
            break
        page += 1
    assert got == expected


def test_sample_search_and_escaping(client):
    page = client.get("/samples/pair", params={"model": "tuned", "benchmark": "toy", "q": "Question 17:"}).text
    assert '<span id="matched">1</span>' in page
    assert "&lt;script&gt;alert(17)&lt;/script&gt;" in page and "<script>alert(17)" not in page


def test_compare_two_models_of_a_run(client):
    page = client.get("/compare", params=[("s", "pair::base"), ("s", "pair::tuned")]).text
    assert "Comparison: base vs tuned" in page and 'id="compare-chart"' in page
    # base is wrong on every 3rd item, tuned on every 4th; item 5 errored in both (not paired)
    right_to_wrong = [i for i in range(90) if i != 5 and i % 3 != 0 and i % 4 == 0]
    wrong_to_right = [i for i in range(90) if i != 5 and i % 3 == 0 and i % 4 != 0]
    assert f'data-count="{len(right_to_wrong)}"' in page and f'data-count="{len(wrong_to_right)}"' in page
    assert '<td class="num">89</td>' in page  # paired items


def test_compare_picker_and_bad_selection(client):
    assert 'name="s" value="pair::base"' in client.get("/compare").text
    assert client.get("/compare", params={"s": "pair::nobody"}).status_code == 200  # shown as a message
    assert client.get("/compare", params={"s": "../pair"}).status_code == 404


def test_progress_writer_throttles_and_replaces_atomically(tmp_path):
    now = [100.0]
    writer = ProgressWriter(tmp_path, {("m", "toy"): 10, ("m", "other"): 5}, name="live", clock=lambda: now[0])
    first = json.loads((tmp_path / "progress.json").read_text())
    assert first["status"] == "running" and first["done"] == 0 and first["expected"] == 15
    writer.update({"model": ["m", "m"], "benchmark": ["toy", "toy"], "error": [None, "boom"]})
    assert json.loads((tmp_path / "progress.json").read_text())["done"] == 0  # throttled: < 1 s since the last write
    now[0] += 1.5
    writer.update({"model": ["m"], "benchmark": ["other"], "error": [None]})
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["done"] == 3 and data["errors"] == 1 and data["rate"] == pytest.approx(2.0)
    assert data["eta_s"] == pytest.approx(6.0)
    writer.close("partial")
    assert json.loads((tmp_path / "progress.json").read_text())["status"] == "partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json"]  # no temporary file left


def test_a_running_job_shows_live_progress(root):
    live = root / "live"
    writer = ProgressWriter(live, {("base", "toy"): 40}, name="live-run")
    writer.update({"model": ["base"] * 12, "benchmark": ["toy"] * 12, "error": [None] * 12})
    writer.write("running")
    client = TestClient(create_app(root))
    runs = {r["rel"]: r for r in client.get("/api/runs").json()}
    assert runs["live"]["status"] == "running" and runs["live"]["progress"]["done"] == 12
    page = client.get("/run/live").text
    assert '<span id="progress-done">12</span> of 40' in page and "/fragment/progress/live" in page
    assert "12/40" in client.get("/fragment/runs").text


def test_arena_page_shows_the_arena_block(tmp_path):
    run = tmp_path / "judged"
    write_eval_run(run, "judged", "toy", {"a": _items(3), "b": _items(4)})
    result = json.loads((run / "result.json").read_text())
    result["arena"] = [{"benchmark": "toy", "mode": "pairwise", "baseline": "a", "judges": ["judge"], "battles": 12,
                        "ratings": [{"model": "b", "rating": 1042.5, "lower": 1001.25, "upper": 1090.0},
                                    {"model": "a", "rating": 1000.0, "lower": 1000.0, "upper": 1000.0}],
                        "leaderboard": ["b", "a"], "win_rate_matrix": {"a": {"b": 0.25}, "b": {"a": 0.75}},
                        "battle_counts": {"a": {"b": 12.0}, "b": {"a": 12.0}}}]
    (run / "result.json").write_text(json.dumps(result))
    client = TestClient(create_app(tmp_path))
    assert 'href="/arena/judged"' in client.get("/run/judged").text
    page = client.get("/arena/judged").text
    assert "<td>b</td><td class=\"num\">1042.5</td>" in page.replace("\n", "") and "[1001.2, 1090.0]" in page
    assert 'id="arena-heatmap-0"' in page and "<td class=\"num\">0.2500</td>" in page
    (run / "result.json").write_text(json.dumps({**result, "arena": []}))
    assert 'id="arena-empty"' in TestClient(create_app(tmp_path)).get("/arena/judged").text


def test_progress_writer_takes_arrow_pandas_and_rows(tmp_path):
    import pandas as pd
    import pyarrow as pa

    writer = ProgressWriter(tmp_path, {("m", "toy"): 9}, min_interval_s=0)
    writer.update(pa.table({"model": ["m", "m"], "benchmark": ["toy", "toy"], "error": [None, "x"]}))
    writer.update(pd.DataFrame({"model": ["m", "m"], "benchmark": ["toy", "toy"], "error": [None, float("nan")]}))
    writer.update([{"model": "m", "benchmark": "toy", "error": "boom"}])
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["done"] == 5 and data["errors"] == 2 and data["items"] == [
        {"model": "m", "benchmark": "toy", "expected": 9, "done": 5, "errors": 2}]
