"""End to end through the pipeline (local Ray, Ray Data stages, replay backend, aggregation): a replay model with the
gold answers scores exactly 1.0 on the full real data of every benchmark, with n equal to the MANIFEST counts, and
the category and macro rows are there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalray.benchmarks import registry
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec

from .test_benchmarks_oracle import COUNTS, DATA, gold_output

pytestmark = [pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent"), pytest.mark.timeout(1800)]


def test_gold_replay_scores_one_on_every_benchmark(ray_session, tmp_path):
    from evalray.pipeline.runner import run_job

    replay = tmp_path / "replay"
    replay.mkdir()
    for name, (folder, _) in COUNTS.items():
        samples = registry.get(name).load(BenchmarkSpec(name=name, data_dir=str(DATA / folder)))
        with open(replay / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for sample in samples:
                f.write(json.dumps({"id": sample.id, "output": gold_output(name, sample)}, ensure_ascii=False) + "\n")
    job = build_job({
        "name": "oracle-replay", "output": str(tmp_path / "run"),
        "models": [{"name": "oracle", "backend": "replay", "source": str(replay), "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": name, "data_dir": str(DATA / folder)} for name, (folder, _) in COUNTS.items()],
    })
    outcome = run_job(job, progress=False)
    result = json.loads((Path(tmp_path) / "run" / "result.json").read_text())
    assert result["status"] == "completed" and outcome.result["status"] == "completed"
    counts = {row["benchmark"]: row for row in result["counts"]}
    for name, (_, manifest) in COUNTS.items():
        assert counts[name]["samples"] == manifest and counts[name]["errors"] == 0, counts[name]
    overall = [r for r in result["scores"] if r["subset"] is None and r["level"] == "overall"]
    assert {r["benchmark"] for r in overall} == set(COUNTS)
    for row in overall:
        assert row["value"] == 1.0, row
        assert row["n"] == COUNTS[row["benchmark"]][1], row
        assert {"stderr", "ci_low", "ci_high"} <= set(row)
    levels = {(r["benchmark"], r["level"]) for r in result["scores"]}
    for name in ("mmlu", "cmmlu", "ceval"):
        assert (name, "category") in levels, name
    metrics = {(r["benchmark"], r["metric"]) for r in overall}
    for name in ("mmlu", "bbh", "math"):
        assert any(b == name and m.endswith("_macro") for b, m in metrics), name
