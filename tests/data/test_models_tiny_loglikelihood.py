"""Log-likelihood benchmarks through the whole pipeline (Ray Data, hf backend, builtin tiny model) agree with a
direct, unbatched transformers computation on the same prompts (special tokens as the tokenizer adds them: tiny-llama's
``<s>`` in front of context and context+continuation, as lm-evaluation-harness encodes; tests/data/test_models_lmeval_parity.py
compares with lm-evaluation-harness itself): every continuation's log-likelihood, and so every
item's chosen answer (acc and acc_norm), for arc_easy, arc_challenge, piqa, winogrande (partial scoring),
truthfulqa_mc1 (200 items each) and the HellaSwag sample."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evalray.benchmarks import registry
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BENCHMARKS = {"arc_easy": "arc", "arc_challenge": "arc", "piqa": "piqa", "winogrande": "winogrande",
              "truthfulqa_mc1": "truthfulqa", "hellaswag": "hellaswag"}
LIMIT = 200

pytestmark = [pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent"), pytest.mark.timeout(1800)]


class Direct:
    """lm-evaluation-harness's recipe, one (context, continuation) pair at a time, no padding or batching; the
    tokenizer's default special tokens (tiny-llama: BOS) on both encodings."""

    def __init__(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from evalray.models.tiny import resolve_source

        path = resolve_source("builtin:tiny-llama")
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

    def loglikelihood(self, context: str, continuation: str) -> float:
        torch = self.torch
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        ctx = self.tokenizer(context).input_ids
        whole = self.tokenizer(context + continuation).input_ids
        assert ctx[0] == whole[0] == self.tokenizer.bos_token_id  # tiny-llama's tokenizer adds <s>
        cont = whole[len(ctx):]
        ids = torch.tensor([whole[:-1]])
        with torch.inference_mode():
            logprobs = torch.log_softmax(self.model(input_ids=ids).logits[0].float(), dim=-1)
        positions = range(len(whole) - 1 - len(cont), len(whole) - 1)
        return float(sum(logprobs[p, t].item() for p, t in zip(positions, cont)))


@pytest.fixture(scope="module")
def pipeline_run(ray_session, tmp_path_factory):
    from evalray.pipeline.runner import run_job

    out = tmp_path_factory.mktemp("tiny-ll")
    job = build_job({
        "name": "tiny-ll", "output": str(out),
        "models": [{"name": "tiny", "backend": "hf", "source": "builtin:tiny-llama", "batch_size": 16,
                    "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": name, "data_dir": str(DATA / folder), "limit": LIMIT} for name, folder in BENCHMARKS.items()],
    })
    outcome = run_job(job, progress=False)
    assert outcome.result["status"] == "completed"
    return out


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_pipeline_loglikelihoods_equal_direct_transformers(pipeline_run, name):
    direct = _direct()
    bench = registry.get(name)
    spec = BenchmarkSpec(name=name, data_dir=str(DATA / BENCHMARKS[name]), limit=LIMIT)
    requests = {sample.id: (sample, request) for sample, request, _ in bench.requests(spec, chat=False, seed=0)}
    rows = pd.read_parquet(pipeline_run / "samples" / "tiny" / f"{name}.parquet")
    assert len(rows) == len(requests) == min(LIMIT, {"hellaswag": 4}.get(name, LIMIT))
    assert (rows["mode"] == "loglikelihood").all() and rows["error"].isna().all()
    ties = 0
    for row in rows.itertuples():
        sample, request = requests[row.id]
        contexts = request.contexts or (request.prompt,) * len(request.continuations)
        expected = [direct.loglikelihood(c, k) for c, k in zip(contexts, request.continuations)]
        assert list(row.loglikelihoods) == pytest.approx(expected, abs=2e-3), row.id
        got = _scores(row.scores)
        assert got == bench.score(sample, Generation(loglikelihoods=list(row.loglikelihoods)), "loglikelihood").values
        want = bench.score(sample, Generation(loglikelihoods=expected), "loglikelihood").values
        if got != want:  # only a float near-tie between two choices may flip the argmax
            assert _near_tie(expected) or _near_tie(_normed(bench, sample, expected)), (row.id, got, want)
            ties += 1
    assert ties <= 2, ties


def _scores(value) -> dict:
    """The row's scores: a JSON string, or a struct (dict) column whose absent metrics read as None."""
    if isinstance(value, str):
        return json.loads(value)
    return {k: v for k, v in dict(value).items() if v is not None}


def _near_tie(values: list[float], tolerance: float = 2e-3) -> bool:
    top = sorted(values, reverse=True)
    return len(top) > 1 and top[0] - top[1] < tolerance


def _normed(bench, sample, values: list[float]) -> list[float]:
    return [v / max(1, len(c)) for v, c in zip(values, bench.continuations(sample))]


_DIRECT: list[Direct] = []


def _direct() -> Direct:
    if not _DIRECT:
        _DIRECT.append(Direct())
    return _DIRECT[0]
