"""Scoring in the model actors (``scoring.in_model_actors``): which jobs get it, and that it changes no row.

Client backends (openai, replay, simulated) score each batch in the actor that generated it; backends that host
weights, and jobs with a benchmark that runs code, keep the scoring tasks. Either way every sample row is the same."""

from __future__ import annotations

import pandas as pd
import pytest

from evalray.job.loader import build_job
from evalray.pipeline import stages
from evalray.pipeline.plan import plan_run
from evalray.pipeline.runner import run_job
from evalray.testing.fake_openai import FakeOpenAI

pytestmark = pytest.mark.timeout(600)

GSM8K = {"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 12}
MMLU = {"name": "mmlu", "data_dir": "builtin:quickstart/mmlu", "limit": 2, "mode": "generate"}


def _gold() -> dict[str, str]:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    return {sample.input: sample.target
            for sample in registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir=GSM8K["data_dir"]))}


GOLD = _gold()


def _answer(prompt: str) -> str:
    """Right on some questions, wrong or unparsable on others (the scores must differ per row)."""
    kind = sum(map(ord, prompt)) % 3
    target = next((t for q, t in GOLD.items() if q in prompt), "B")
    return [f"So it is {target}.\n#### {target}\nANSWER: {target}", "#### 7\nANSWER: C", "no idea"][kind]


def _job(url: str, tmp_path, name: str, scoring: dict | None = None, benchmarks=(GSM8K, MMLU), model=None) -> dict:
    model = model or {"name": "srv", "backend": "openai", "source": url, "chat": True, "replicas": 1,
                      "resources": {"num_cpus": 0.25}, "concurrency": 4, "batch_size": 4}
    return {"name": name, "output": str(tmp_path / name), "models": [model], "benchmarks": list(benchmarks),
            **({"scoring": scoring} if scoring is not None else {})}


def _operators(job_dict: dict, tmp_path) -> str:
    job = build_job(job_dict)
    plan = plan_run(job, str(tmp_path / "plan"))
    return repr(stages.evaluation_dataset(job, job.models, plan.rows_by_model))


def test_which_jobs_score_in_the_model_actors(ray_session, tmp_path):
    with FakeOpenAI(_answer) as server:
        url = server.url
        assert "score_batch" not in _operators(_job(url, tmp_path, "auto"), tmp_path)
        assert "score_batch" in _operators(_job(url, tmp_path, "off", {"in_model_actors": False}), tmp_path)

    def inline(**job_parts) -> bool:
        job = build_job(_job("http://127.0.0.1:1/v1", tmp_path, "rule", **job_parts))
        return stages.scores_in_actor(job, job.models[0])

    code = {"name": "mbpp", "limit": 2}
    collection = {"name": "mix", "collection": {"benchmarks": [GSM8K, {"name": "humaneval"}]}}
    assert inline() and not inline(scoring={"in_model_actors": False})
    assert not inline(benchmarks=(GSM8K, code)) and not inline(benchmarks=(collection,))
    assert inline(benchmarks=(GSM8K, code), scoring={"in_model_actors": True})
    hf = {"name": "tiny", "backend": "hf", "source": "builtin:tiny-llama", "resources": {"num_cpus": 0.25}}
    replay = {"name": "rec", "backend": "replay", "source": str(tmp_path / "none.jsonl")}
    assert not inline(model=hf, scoring={"in_model_actors": True}) and inline(model=replay)


def test_rows_are_the_same_scored_in_actors_or_in_tasks(ray_session, tmp_path):
    frames = {}
    with FakeOpenAI(_answer) as server:
        for name, choice in (("inline", True), ("tasks", False)):
            outcome = run_job(build_job(_job(server.url, tmp_path, name, {"in_model_actors": choice})), progress=False)
            assert outcome.result["status"] == "completed"
            frames[name] = {b: pd.read_parquet(tmp_path / name / "samples" / "srv" / f"{b}.parquet")
                            .sort_values("id").reset_index(drop=True) for b in ("gsm8k", "mmlu")}
    for benchmark in ("gsm8k", "mmlu"):
        inline, tasks = frames["inline"][benchmark], frames["tasks"][benchmark]
        assert list(inline.columns) == list(tasks.columns)
        varying = {"served_by", "node_id", "latency_s", "ttft_s", "started_at", "finished_at"}
        for column in inline.columns:
            if column in varying:
                continue
            assert inline[column].astype(str).tolist() == tasks[column].astype(str).tolist(), (benchmark, column)
    gsm8k = frames["inline"]["gsm8k"]
    values = [s["exact_match"] for s in gsm8k["scores"]]
    assert 0 < sum(values) < len(values), "the fake answers right on some items and wrong on others"
