"""A job with two models — tiny ``hf`` and tiny ``vllm`` — through ``run_job``: both pools run in one Ray job, both
are reported, and their answers agree (greedy GSM8K texts, MMLU log-likelihoods)."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

try:
    import vllm  # noqa: F401

    VLLM_ERROR = None
except Exception as exc:
    VLLM_ERROR = f"vllm is not importable: {type(exc).__name__}: {exc}"

pytestmark = [pytest.mark.vllm, pytest.mark.skipif(VLLM_ERROR is not None, reason=VLLM_ERROR or ""),
              pytest.mark.timeout(1500)]

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; passed to the engine actors by the vllm backend


@pytest.fixture(scope="module")
def two_model_run(ray_session, tmp_path_factory):
    from evalray.job.loader import build_job
    from evalray.pipeline.runner import run_job
    from tests.conftest import shared_data

    gsm8k, mmlu = shared_data("gsm8k"), shared_data("mmlu")
    common = {"source": "builtin:tiny-llama", "dtype": "float32", "batch_size": 16, "resources": {"num_cpus": 0.5},
              "generation": {"max_tokens": 32}}
    out = tmp_path_factory.mktemp("two-models")
    job = build_job({
        "name": "hf-and-vllm", "output": str(out),
        "models": [
            {"name": "tiny-hf", "backend": "hf", **common},
            {"name": "tiny-vllm", "backend": "vllm", **common, "engine": {"max_num_seqs": 16, "max_model_len": 2048}},
        ],
        "benchmarks": [
            {"name": "gsm8k", "data_dir": str(gsm8k), "limit": 100, "max_tokens": 32},
            {"name": "mmlu", "data_dir": str(mmlu), "limit": 50, "subsets": ["abstract_algebra", "anatomy"],
             "mode": "loglikelihood"},
        ],
    })
    outcome = run_job(job, progress=False)
    return outcome, out


def samples(out, model: str, benchmark: str) -> pd.DataFrame:
    return pd.read_parquet(out / "samples" / model / f"{benchmark}.parquet").set_index("uid")


def test_both_pools_run_and_are_reported(two_model_run):
    outcome, out = two_model_run
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed", result.get("error")
    counts = {(c["model"], c["benchmark"]): c for c in result["counts"]}
    for model in ("tiny-hf", "tiny-vllm"):
        assert counts[(model, "gsm8k")]["samples"] == 100 and counts[(model, "gsm8k")]["errors"] == 0
        assert counts[(model, "mmlu")]["samples"] == 100 and counts[(model, "mmlu")]["errors"] == 0
    assert {s["model"] for s in result["scores"]} == {"tiny-hf", "tiny-vllm"}
    assert {a["model"] for a in result["actors"]} == {"tiny-hf", "tiny-vllm"}


def test_vllm_and_hf_agree_through_the_pipeline(two_model_run):
    _, out = two_model_run
    hf, vl = samples(out, "tiny-hf", "gsm8k"), samples(out, "tiny-vllm", "gsm8k")
    assert sorted(hf.index) == sorted(vl.index)
    same = sum(list(vl.loc[uid, "texts"]) == list(hf.loc[uid, "texts"]) for uid in hf.index)
    assert same >= 95, f"only {same}/100 greedy generations equal"
    hf, vl = samples(out, "tiny-hf", "mmlu"), samples(out, "tiny-vllm", "mmlu")
    worst = max(abs(a - b) for uid in hf.index
                for a, b in zip(hf.loc[uid, "loglikelihoods"], vl.loc[uid, "loglikelihoods"]))
    print(f"\nvllm vs hf through run_job: {same}/100 greedy GSM8K texts equal, max |dLL| {worst:.2e} on 100 MMLU")
    assert worst < 1e-3, f"largest log-likelihood difference {worst}"
    assert list(hf["extracted"]) == list(vl.loc[hf.index, "extracted"])
