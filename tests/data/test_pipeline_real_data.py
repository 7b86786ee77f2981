"""The core on the real data in ../shared/data: replay oracles over the full GSM8K and MMLU test sets, and the hf
backend's MMLU log-likelihood choices against a direct transformers computation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evalray.benchmarks import registry
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec
from evalray.pipeline.runner import run_job
from tests.conftest import shared_data

pytestmark = pytest.mark.timeout(900)
LETTERS = "ABCD"


def replay_job(tmp_path, replay_dir, benchmarks):
    return build_job({
        "name": "oracle", "output": str(tmp_path / "out"),
        "models": [{"name": "oracle", "backend": "replay", "source": str(replay_dir), "replicas": 2,
                    "resources": {"num_cpus": 0.25}, "batch_size": 512}],
        "benchmarks": benchmarks,
    })


def write_replay(folder, name, samples, output):
    folder.mkdir(exist_ok=True)
    with open(folder / f"{name}.jsonl", "w") as f:
        for sample in samples:
            f.write(json.dumps({"id": sample.id, "output": output(sample)}) + "\n")


@pytest.mark.parametrize("right", [True, False], ids=["gold", "all-wrong"])
def test_replay_oracle_full_gsm8k_and_mmlu(ray_session, tmp_path, right):
    entries = [{"name": "gsm8k", "data_dir": str(shared_data("gsm8k"))},
               {"name": "mmlu", "data_dir": str(shared_data("mmlu"))}]
    folder = tmp_path / "replay"
    gsm8k = registry.get("gsm8k").load(BenchmarkSpec(**entries[0]))
    mmlu = registry.get("mmlu").load(BenchmarkSpec(**entries[1]))
    write_replay(folder, "gsm8k", gsm8k,
                 lambda s: s.metadata["solution"] if right else f"The answer is {int(s.target) + 1}.")
    write_replay(folder, "mmlu", mmlu,
                 lambda s: LETTERS[int(s.target)] if right else f"ANSWER: {LETTERS[(int(s.target) + 1) % 4]}")
    result = run_job(replay_job(tmp_path, folder, entries), progress=False).result
    overall = {(r["benchmark"], r["metric"]): r for r in result["scores"] if r["subset"] is None}
    assert overall[("gsm8k", "exact_match")]["n"] == 1319
    assert overall[("mmlu", "acc")]["n"] == 14042
    expected = 1.0 if right else 0.0
    assert overall[("gsm8k", "exact_match")]["value"] == expected
    assert overall[("mmlu", "acc")]["value"] == expected
    categories = {r["subset"] for r in result["scores"] if r["level"] == "category"}
    assert categories == {"stem", "humanities", "social_sciences", "other"}
    assert len({r["subset"] for r in result["scores"] if r["level"] == "subset"}) == 57
    assert result["status"] == "completed"


def test_hf_mmlu_loglikelihood_choices_match_direct_transformers(ray_session, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from evalray.models.tiny import ensure_tiny_llama

    job = build_job({
        "name": "ll", "output": str(tmp_path / "out"),
        "models": [{"name": "tiny", "backend": "hf", "source": "builtin:tiny-llama", "replicas": 2,
                    "resources": {"num_cpus": 0.5}, "batch_size": 16}],
        "benchmarks": [{"name": "mmlu", "data_dir": str(shared_data("mmlu")), "limit": 4}],
    })
    run_job(job, progress=False)
    samples = pd.read_parquet(tmp_path / "out" / "samples" / "tiny" / "mmlu.parquet")
    assert len(samples) == 228 and samples["error"].isna().all()
    path = ensure_tiny_llama()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    agree = 0
    for row in samples.itertuples():
        context = row.prompt
        scores = []
        for continuation in row.continuations:
            # lm-evaluation-harness: the continuation's tokens are those of context+continuation after the context's
            # (with the tokenizer's own special tokens: tiny-llama's <s>, as lm-evaluation-harness encodes)
            whole = tokenizer(context + continuation).input_ids
            n_context = len(tokenizer(context).input_ids)
            with torch.no_grad():
                logits = model(torch.tensor([whole[:-1]])).logits[0]
            logprobs = torch.log_softmax(logits, -1)
            scores.append(sum(logprobs[i - 1, whole[i]].item() for i in range(n_context, len(whole))))
        direct = LETTERS[max(range(4), key=lambda i: scores[i])]
        for got, want in zip(row.loglikelihoods, scores):
            assert got == pytest.approx(want, abs=1e-3)
        agree += direct == row.extracted
    assert agree == len(samples)
