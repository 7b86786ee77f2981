"""Bad answers never poison a batch: an OpenAI-compatible server that answers 20% of the prompts with a body of the
wrong shape (``null``, ``[]``, an empty body, ``choices: [null]``, an HTML error page, truncated JSON, ...) through
the real pipeline (``run_job``, the openai backend, Ray Data batches of 32): exactly those samples error, every other
one is scored. Before the fix, 18 bad answers errored 192 of 200 samples."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evalray.job.loader import build_job
from evalray.pipeline.runner import run_job
from evalray.testing.wrong_shape import BAD_BODIES, WrongShapeServer
from tests.conftest import shared_data

pytestmark = pytest.mark.timeout(600)
SAMPLES = 200


def test_exactly_the_wrong_shape_answers_error(ray_session, tmp_path):
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    data_dir = str(shared_data("gsm8k"))
    samples = list(registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir=data_dir, limit=SAMPLES)))
    by_question = {s.input: s for s in samples}
    bad_ids = {str(s.id) for i, s in enumerate(samples) if i % 5 == 0}  # 20%

    def sample_of(prompt: str):
        found = [s for q, s in by_question.items() if q in prompt]
        assert len(found) == 1, prompt[:200]
        return found[0]

    def answer(prompt: str) -> str:
        return f"Let me think.\nANSWER: {sample_of(prompt).target}"

    with WrongShapeServer(answer, lambda prompt: str(sample_of(prompt).id) in bad_ids) as server:
        job = build_job({
            "name": "bad-answers", "output": str(tmp_path / "out"),
            "models": [{"name": "srv", "backend": "openai", "source": server.url, "chat": True, "replicas": 1,
                        "resources": {"num_cpus": 0.25}, "concurrency": 8, "max_retries": 1}],
            "benchmarks": [{"name": "gsm8k", "data_dir": data_dir, "limit": SAMPLES, "few_shot": 0}],
        })
        outcome = run_job(job, progress=False)
    assert set(server.bad_prompts.values()) == set(BAD_BODIES)  # every bad shape was served
    assert {str(sample_of(p).id) for p in server.bad_prompts} == bad_ids

    rows = pd.read_parquet(tmp_path / "out" / "samples" / "srv" / "gsm8k.parquet")
    assert len(rows) == SAMPLES and rows["id"].astype(str).nunique() == SAMPLES
    errored = rows[rows["error"].notna() & (rows["error"].astype(str) != "")]
    assert set(errored["id"].astype(str)) == bad_ids, "exactly the wrong-shape answers error"
    good = rows[~rows["id"].astype(str).isin(bad_ids)]
    assert len(good) == SAMPLES - len(bad_ids)
    assert all(s["exact_match"] == 1.0 for s in good["scores"]), "every other sample is scored"

    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["counts"][0]["errors"] == len(bad_ids) and result["counts"][0]["samples"] == SAMPLES
    overall = {r["metric"]: r for r in outcome.result["scores"] if r["subset"] is None}
    assert overall["exact_match"]["value"] == 1.0 and overall["exact_match"]["n"] == SAMPLES - len(bad_ids)
