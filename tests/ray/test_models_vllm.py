"""``backend: vllm`` through ``ray.data.llm`` on the tiny Llama, compared with the ``hf`` backend.

One engine serves every test of this module (an engine start costs ≈45–80 s here): the stage runs once over 100
GSM8K prompts (greedy, 32 tokens), 100 MMLU items (log-likelihood) and a few odd rows.
"""

from __future__ import annotations

import os

import pytest

try:
    import vllm  # noqa: F401

    VLLM_ERROR = None
except Exception as exc:  # ImportError, or a broken CUDA companion wheel
    VLLM_ERROR = f"vllm is not importable: {type(exc).__name__}: {exc}"

pytestmark = [pytest.mark.vllm, pytest.mark.skipif(VLLM_ERROR is not None, reason=VLLM_ERROR or "")]

from tests.conftest import SHARED_DATA as DATA  # noqa: E402  (../shared/data beside the repository)
N_GSM8K, N_MMLU = 100, 100


def request_rows() -> list[dict]:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec
    from evalray.rows import request_row
    from evalray.types import Request, Sample

    if not (DATA / "gsm8k").is_dir() or not (DATA / "mmlu").is_dir():
        pytest.skip(f"no local GSM8K/MMLU copy under {DATA}")
    entries = [
        BenchmarkSpec(name="gsm8k", limit=N_GSM8K, max_tokens=32, data_dir=str(DATA / "gsm8k")),
        BenchmarkSpec(name="mmlu", limit=N_MMLU // 2, subsets=["abstract_algebra", "anatomy"],
                      data_dir=str(DATA / "mmlu")),
    ]
    rows = []
    for entry in entries:
        for sample, request, mode in registry.get(entry.name).requests(entry, False, 0):
            rows.append(request_row(sample, request, "tiny", mode))
    # a request with nothing to score: recorded as an error on its row, the job goes on
    odd = Sample(id="empty", benchmark="odd", subset=None, input="x", target="")
    rows.append(request_row(odd, Request(kind="loglikelihood", prompt="x"), "tiny", "loglikelihood"))
    return rows


def model_spec(backend: str):
    from evalray.job.spec import parse_model_spec

    fields = dict(name="tiny", backend=backend, source="builtin:tiny-llama", dtype="float32", batch_size=16,
                  resources={"num_cpus": 0.5}, generation={"max_tokens": 32})
    if backend == "vllm":
        fields["engine"] = {"max_num_seqs": 16, "max_model_len": 2048}
    return parse_model_spec(fields)


@pytest.fixture(scope="module")
def rows():
    return request_rows()


@pytest.fixture(scope="module")
def vllm_out(ray_session, rows):
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; passed to the engine actors by the vllm backend
    from evalray.models import vllm_backend

    from evalray.rows import table_from_rows

    table = table_from_rows(rows)
    step = -(-len(rows) // 4)
    blocks = [table.slice(i, step) for i in range(0, len(rows), step)]
    ds = vllm_backend.build_stage(ray_session.data.from_arrow(blocks), model_spec("vllm"))
    return ds.take_all()


@pytest.fixture(scope="module")
def hf_answers(rows):
    from evalray.models.hf import HFBackend
    from evalray.rows import decode_request as request_from_row

    backend = HFBackend(model_spec("hf"))
    answers = {}
    for kind, method in (("generate", backend.generate), ("loglikelihood", backend.loglikelihood)):
        chosen = [r for r in rows if r["kind"] == kind and not r["uid"].startswith("odd::")]
        for row, generation in zip(chosen, method([request_from_row(r) for r in chosen])):
            answers[row["uid"]] = generation
    return answers


@pytest.mark.timeout(900)
def test_every_row_comes_back_once_with_its_columns(rows, vllm_out):
    from evalray.rows import OUTPUT_COLUMNS

    assert sorted(r["uid"] for r in vllm_out) == sorted(r["uid"] for r in rows)
    for row in vllm_out:
        assert set(OUTPUT_COLUMNS) <= set(row)
        assert row["model"] == "tiny" and row["mode"] in ("generate", "loglikelihood")


@pytest.mark.timeout(900)
def test_failed_rows_are_recorded_not_fatal(vllm_out):
    by_uid = {r["uid"]: r for r in vllm_out}
    assert "nothing to evaluate" in by_uid["odd::empty"]["error"]
    ok = [r for r in vllm_out if not r["uid"].startswith("odd::")]
    assert all(not r["error"] for r in ok), [r["error"] for r in ok if r["error"]][:3]


@pytest.mark.timeout(900)
def test_greedy_generations_match_hf(vllm_out, hf_answers):
    generated = [r for r in vllm_out if r["kind"] == "generate"]
    assert len(generated) == N_GSM8K
    same = sum(list(r["texts"]) == hf_answers[r["uid"]].texts for r in generated)
    assert any(r["texts"][0] for r in generated), "every generation is empty"
    assert same >= 0.95 * N_GSM8K, f"only {same}/{N_GSM8K} greedy generations equal"


@pytest.mark.timeout(900)
def test_loglikelihoods_match_hf(vllm_out, hf_answers):
    scored = [r for r in vllm_out if r["kind"] == "loglikelihood" and not r["uid"].startswith("odd::")]
    assert len(scored) == N_MMLU
    worst = 0.0
    for row in scored:
        expected = hf_answers[row["uid"]]
        assert len(row["loglikelihoods"]) == len(expected.loglikelihoods) == 4
        worst = max(worst, *(abs(a - b) for a, b in zip(row["loglikelihoods"], expected.loglikelihoods)))
        assert list(row["is_greedy"]) == expected.is_greedy
    assert worst < 1e-3, f"largest log-likelihood difference {worst}"


def test_continuation_score_sums_the_continuation_only():
    from evalray.models.vllm_backend import continuation_score

    logprobs = [None, {5: {"logprob": -1.0, "rank": 1}}, {"7": {"logprob": -2.0, "rank": 3}},
                {9: {"logprob": -0.5, "rank": 1}}]
    assert continuation_score(logprobs, [1, 5, 7, 9], 2) == (-2.5, False)
    assert continuation_score(logprobs, [1, 5, 7, 9], 1) == (-0.5, True)
    with pytest.raises(ValueError):
        continuation_score(None, [1, 2], 1)


def test_combine_orders_parts_and_keeps_errors():
    from evalray.models.vllm_backend import combine

    parts = [{"part": 1, "text": "b", "loglikelihood": -2.0, "greedy": False, "error": ""},
             {"part": 0, "text": "a", "loglikelihood": -1.0, "greedy": True, "error": ""}]
    assert combine("loglikelihood", 1, parts).loglikelihoods == [-1.0, -2.0]
    assert combine("generate", 2, parts).texts == ["a", "b"]
    assert combine("generate", 3, parts[:1]).texts == ["b", "b", "b"]
    parts[0]["error"] = "EngineError: boom"
    assert combine("generate", 1, parts).error == "EngineError: boom"


def test_engine_errors_become_row_errors():
    from evalray.models import vllm_backend as vb

    base = {vb.KEY: "k", vb.PART: 0, vb.PARTS: 1, vb.KIND: "loglikelihood", vb.ROW: b"x", vb.CONT_LEN: 1,
            vb.PRE_ERROR: ""}
    failed = vb._decode({**base, vb.ERROR_COLUMN: "ValueError: prompt too long"})
    assert failed["error"] == "ValueError: prompt too long" and failed[vb.KEY] == "k"
    missing = vb._decode({**base, vb.ERROR_COLUMN: "", "prompt_token_ids": [1, 2], "prompt_logprobs": None})
    assert "no prompt logprobs" in missing["error"]
    ok = vb._decode({**base, vb.ERROR_COLUMN: "", "prompt_token_ids": [1, 2],
                     "prompt_logprobs": [None, {2: {"logprob": -0.25, "rank": 1}}]})
    assert ok["error"] == "" and ok["loglikelihood"] == -0.25 and ok["greedy"] is True
