"""The core pipeline end to end on a local Ray: the quickstart, replica placement, the openai backend."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalray.job.loader import build_job, load_job
from evalray.pipeline.runner import run_job
from tests.conftest import ROOT
from evalray.testing.fake_openai import FakeOpenAI, char_logprob

pytestmark = pytest.mark.timeout(600)


def test_quickstart_writes_the_contract_and_uses_two_actors(ray_session, tmp_path):
    job = load_job(ROOT / "configs" / "quickstart.yaml")
    outcome = run_job(job, output=str(tmp_path / "out"), progress=False)
    out = tmp_path / "out"
    result = json.loads((out / "result.json").read_text())
    assert result["schema_version"] == 2 and result["status"] == "completed" and result["name"] == "quickstart"
    assert {"run_id", "started_at", "finished_at", "job", "env", "scores", "counts"} <= set(result)
    assert {"evalray", "ray", "python"} <= set(result["env"])
    assert result["counts"] == [
        {"model": "tiny", "benchmark": "gsm8k", "samples": 50, "errors": 0, "expected": 50, "duplicates": 0},
        {"model": "tiny", "benchmark": "mmlu", "samples": 40, "errors": 0, "expected": 40, "duplicates": 0},
    ]
    overall = {(r["benchmark"], r["metric"]): r for r in result["scores"] if r["subset"] is None}
    assert overall[("gsm8k", "exact_match")]["n"] == 50
    assert overall[("mmlu", "acc")]["n"] == 40 and ("mmlu", "acc_macro") in overall
    for name in ("report.md", "report.html", "samples/tiny/gsm8k.parquet", "samples/tiny/mmlu.parquet"):
        assert (out / name).is_file(), name
    samples = pd.read_parquet(out / "samples" / "tiny" / "mmlu.parquet")
    assert sorted(samples["id"])[:2] == ["abstract_algebra/0", "abstract_algebra/1"]
    assert {"id", "subset", "prompt", "output", "extracted", "target", "scores", "error", "served_by"} <= set(samples)
    both = pd.concat([samples, pd.read_parquet(out / "samples" / "tiny" / "gsm8k.parquet")])
    assert both["served_by"].nunique() == 2, "replicas: 2 must run two model actors"
    assert len(result["actors"]) == 2 and sum(a["samples"] for a in result["actors"]) == 90
    assert outcome.result["scores"] == result["scores"]


def _openai_job(url: str, chat: bool, mode: str | None, tmp_path: Path, **model_extra) -> dict:
    return {
        "name": "oa", "output": str(tmp_path / "oa"),
        "models": [{"name": "srv", "backend": "openai", "source": url, "chat": chat, "replicas": 1,
                    "resources": {"num_cpus": 0.25}, "concurrency": 8, **model_extra}],
        "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 20},
                       {"name": "mmlu", "data_dir": "builtin:quickstart/mmlu", "limit": 3, **({"mode": mode} if mode else {})}],
    }


def test_openai_backend_chat_generate_with_retries_and_key(ray_session, tmp_path, monkeypatch):
    gold = {}
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    for sample in registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir="builtin:quickstart/gsm8k")):
        gold[sample.input] = sample.target

    def answer(prompt: str) -> str:
        for question, target in gold.items():
            if question in prompt:
                return f"Let me think.\nANSWER: {target}"
        return "ANSWER: B"

    monkeypatch.setenv("FAKE_KEY", "sk-test-123")
    with FakeOpenAI(answer, fail_first=3) as server:
        job = build_job(_openai_job(server.url, chat=True, mode=None, tmp_path=tmp_path, api_key_env="FAKE_KEY"))
        outcome = run_job(job, progress=False)
    scores = {(r["benchmark"], r["metric"]): r["value"] for r in outcome.result["scores"] if r["subset"] is None}
    assert scores[("gsm8k", "exact_match")] == 1.0
    assert outcome.result["status"] == "completed"
    assert server.auth_headers == {"Bearer sk-test-123"}
    written = "".join(p.read_text(errors="ignore") for p in (tmp_path / "oa").rglob("*") if p.is_file())
    assert "sk-test-123" not in written


def test_openai_backend_loglikelihood_through_echo(ray_session, tmp_path):
    with FakeOpenAI(lambda p: "") as server:
        job = build_job(_openai_job(server.url, chat=False, mode="loglikelihood", tmp_path=tmp_path))
        job.benchmarks = job.benchmarks[1:]
        outcome = run_job(job, progress=False)
    samples = pd.read_parquet(tmp_path / "oa" / "samples" / "srv" / "mmlu.parquet")
    assert len(samples) == 12 and samples["error"].isna().all()
    row = samples.iloc[0]
    # the continuation " X" is scored as its two characters, after the context "...Answer:"
    for letter, value in zip("ABCD", row["loglikelihoods"]):
        assert value == pytest.approx(char_logprob(" ") + char_logprob(letter))
    assert outcome.result["status"] == "completed"


def test_two_models_run_in_one_job_and_output_uri(ray_session, tmp_path):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(f'{{"id": "{i}", "output": "#### 0"}}\n' for i in range(5)))
    job = build_job({
        "name": "two", "output": f"file://{tmp_path}/uri-out",
        "models": [
            {"name": "tiny", "backend": "hf", "source": "builtin:tiny-llama", "resources": {"num_cpus": 0.5},
             "generation": {"max_tokens": 8}},
            {"name": "rec", "backend": "replay", "source": str(replay), "resources": {"num_cpus": 0.25}},
        ],
        "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 6}],
    })
    outcome = run_job(job, progress=False)
    result = json.loads((tmp_path / "uri-out" / "result.json").read_text())
    assert {c["model"]: c["samples"] for c in result["counts"]} == {"tiny": 6, "rec": 6}
    rec = {c["model"]: c for c in result["counts"]}["rec"]
    assert rec["errors"] == 1  # id 5 has no recorded output: an error row, not a crash
    assert result["status"] == "partial"
    assert (tmp_path / "uri-out" / "samples" / "rec" / "gsm8k.parquet").is_file()
    assert {a["model"] for a in result["actors"]} == {"tiny", "rec"}
    assert outcome.output == f"{tmp_path}/uri-out"


def test_a_pool_that_cannot_start_fails_with_one_line_and_keeps_the_run(ray_session, tmp_path):
    """Six one-CPU replicas on a two-CPU Ray never all start: the run fails after actor_start_timeout_s, saying why."""
    job = build_job({
        "name": "unstartable",
        "models": [{"name": "sim", "backend": "simulated", "source": "sim", "replicas": 6,
                    "resources": {"num_cpus": 1}}],
        "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 4}],
        "ray": {"actor_start_timeout_s": 3},
    })
    outcome = run_job(job, output=str(tmp_path / "out"), progress=False)
    assert outcome.result["status"] == "failed"
    assert "actor_start_timeout_s=3" in outcome.result["error"] and "\n" not in outcome.result["error"]
    assert (tmp_path / "out" / "result.json").is_file()
