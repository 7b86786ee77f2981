"""End to end in headless Chromium: runs list -> a run -> its sample viewer filtered to incorrect items -> a comparison
of the two replay models -> the perf charts, plus the live view of a running job. Every step checks what the page
shows against the run's own files (result.json, perf.json, the Parquet samples); screenshots go to the test's tmp dir.

``EVALRAY_DOCS_SCREENSHOT=1`` also writes the README's screenshot, docs/img/dashboard.png."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(900)


def _result(root: Path, name: str) -> dict:
    return json.loads((root / name / "result.json").read_text(encoding="utf-8"))


def _overall(result: dict) -> list[dict]:
    return [r for r in result["scores"] if r["level"] == "overall"]


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_runs_list_and_filter(page, runs_root, tmp_path):
    page.goto("/")
    rows = page.locator("#runs-body tr.run-row")
    shown = {row.get_attribute("data-rel"): row for row in rows.all()}
    assert set(shown) - {"live"} == {"quickstart", "replay-pair", "perf-mock"}
    for name in ("quickstart", "replay-pair"):
        result = _result(runs_root, name)
        cells = shown[name].locator("td")
        assert cells.nth(1).inner_text() == result["name"] and cells.nth(3).inner_text().startswith(result["status"])
        assert cells.nth(4).inner_text() == ", ".join(m["name"] for m in result["job"]["models"])
    page.fill("#filter", "perf")
    assert page.locator("#runs-body tr.run-row:visible").count() == 1
    assert page.locator("#runs-body tr.run-row:visible").get_attribute("data-rel") == "perf-mock"
    _shot(page, tmp_path, "01-runs-list")


def test_run_page_shows_the_scores_of_result_json(page, runs_root, tmp_path):
    page.goto("/")
    page.click("#runs-body tr[data-rel='quickstart'] a.run-link")
    page.wait_for_selector("#scores")
    result = _result(runs_root, "quickstart")
    table = page.locator("#scores tbody tr")
    assert table.count() == len(_overall(result))
    for index, row in enumerate(_overall(result)):
        cells = table.nth(index).locator("td")
        assert [cells.nth(i).inner_text() for i in range(3)] == [row["model"], row["benchmark"], row["metric"]]
        assert cells.nth(3).inner_text() == f"{row['value']:.4f}"
        assert cells.nth(5).inner_text() == f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}]"
        assert cells.nth(6).inner_text() == str(row["n"])
    page.wait_for_selector("#scores-chart .main-svg")  # plotly drew the bar chart (served locally)
    assert page.locator("table.breakdown").count() >= 1  # MMLU subsets and categories
    counts = page.locator("#counts tbody tr")
    assert counts.count() == len(result["counts"])
    assert page.locator("#env").inner_text().count("\n") + 1 == len(result["env"])
    path = _shot(page, tmp_path, "02-run")
    if os.environ.get("EVALRAY_DOCS_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"), full_page=False)
    assert path.exists()


def test_sample_viewer_filters_incorrect_items(page, runs_root, tmp_path):
    page.goto("/run/quickstart")
    page.click("#counts a.samples-link >> nth=0")  # gsm8k of the tiny model
    page.wait_for_selector("#samples")
    table = pq.read_table(runs_root / "quickstart" / "samples" / "tiny" / "gsm8k.parquet").to_pylist()
    incorrect = [r for r in table if not r["error"] and r["scores"]["exact_match"] < 1.0]
    assert page.inner_text("#total") == str(len(table))
    page.select_option("#status", "incorrect")
    with page.expect_navigation():
        page.click("#apply")
    page.wait_for_selector("#sample-summary")
    assert page.inner_text("#matched") == str(len(incorrect))
    rows = page.locator("tr.sample-row")
    page_size = min(25, len(incorrect))
    assert rows.count() == page_size
    assert all(r.get_attribute("data-correct") == "false" for r in rows.all())
    assert [r.get_attribute("data-id") for r in rows.all()] == [r["id"] for r in incorrect[:page_size]]
    first = rows.nth(0)
    first.locator("summary").click()
    assert first.locator("pre.output").inner_text() == incorrect[0]["output"]
    assert first.locator("pre.prompt").inner_text() == incorrect[0]["prompt"]
    _shot(page, tmp_path, "03-samples-incorrect")


def test_compare_the_two_replay_models(page, runs_root, tmp_path):
    page.goto("/run/replay-pair")
    page.click("#compare-models")
    page.wait_for_selector("table.difference")
    result = _result(runs_root, "replay-pair")
    value = {r["model"]: r["value"] for r in _overall(result) if r["metric"] == "exact_match"}
    cells = page.locator("table.difference tbody tr.overall td")
    assert cells.nth(2).inner_text() == f"{value['alpha']:.4f}" and cells.nth(3).inner_text() == f"{value['beta']:.4f}"
    assert cells.nth(4).inner_text() == f"{value['beta'] - value['alpha']:.4f}"
    scores = {}
    for model in ("alpha", "beta"):
        rows = pq.read_table(runs_root / "replay-pair" / "samples" / model / "gsm8k.parquet").to_pylist()
        scores[model] = {r["id"]: r["scores"]["exact_match"] for r in rows}
    right_to_wrong = sorted((i for i in scores["alpha"] if scores["alpha"][i] == 1 and scores["beta"][i] == 0), key=int)
    wrong_to_right = sorted((i for i in scores["alpha"] if scores["alpha"][i] == 0 and scores["beta"][i] == 1), key=int)
    assert cells.nth(8).inner_text() == str(len(right_to_wrong)) and cells.nth(9).inner_text() == str(len(wrong_to_right))
    flips = page.locator("details.wrong_to_right")
    flips.locator("summary").click()
    assert [c.inner_text() for c in flips.locator("td.flip-id").all()] == wrong_to_right
    page.wait_for_selector("#compare-chart .main-svg")
    _shot(page, tmp_path, "04-compare")


def test_perf_charts(page, runs_root, tmp_path):
    page.goto("/")
    page.click("#runs-body tr[data-rel='perf-mock'] a.run-link")
    page.wait_for_selector("#perf-summary")
    document = json.loads((runs_root / "perf-mock" / "perf.json").read_text(encoding="utf-8"))
    rows = page.locator("#perf-summary tbody tr")
    assert rows.count() == len(document["runs"]) == 2
    for index, run in enumerate(document["runs"]):
        cells = rows.nth(index).locator("td")
        assert cells.nth(0).inner_text() == f"c={run['concurrency']}"
        assert cells.nth(1).inner_text() == str(run["ok"]) and cells.nth(2).inner_text() == str(run["requests"])
        assert cells.nth(3).inner_text() == f"{run['request_throughput']:.2f}"
        assert cells.nth(6).inner_text() == f"{run['ttft_ms']['p99']:.2f}"
    verdicts = [c.inner_text() for c in page.locator("#perf-slo tbody tr td:last-child").all()]
    expected = [("met" if c["met"] else "missed") for r in document["runs"] for _, c in sorted(r["slo"]["checks"].items())]
    assert verdicts == expected
    for chart in ("perf-ttft-cdf", "perf-tpot-cdf", "perf-itl-cdf", "perf-e2e-cdf", "perf-throughput", "perf-latency",
                  "perf-sweep"):
        page.wait_for_selector(f"#{chart} .main-svg")
    if any(r["errors"] for r in document["runs"]):
        page.wait_for_selector("#perf-errors-chart .main-svg")
    _shot(page, tmp_path, "05-perf")


def test_live_progress_refreshes(page, runs_root, tmp_path):
    from evalray.results.progress import ProgressWriter

    writer = ProgressWriter(runs_root / "live", {("tiny", "gsm8k"): 50}, name="live-job", min_interval_s=0)
    writer.update({"model": ["tiny"] * 10, "benchmark": ["gsm8k"] * 10, "error": [None] * 10})
    page.goto("/")
    live = page.locator("#runs-body tr[data-rel='live']")
    assert "running" in live.inner_text() and "10/50" in live.inner_text()
    writer.update({"model": ["tiny"] * 20, "benchmark": ["gsm8k"] * 20, "error": [None] * 20})
    page.wait_for_function("document.querySelector(\"#runs-body tr[data-rel='live']\").innerText.includes('30/50')",
                           timeout=15_000)
    page.goto("/run/live")
    assert page.inner_text("#progress-done") == "30"
    writer.update({"model": ["tiny"] * 5, "benchmark": ["gsm8k"] * 5, "error": ["boom"] * 5})
    page.wait_for_function("document.querySelector('#progress-done').innerText === '35'", timeout=15_000)
    _shot(page, tmp_path, "06-live")
    shutil.rmtree(runs_root / "live")
