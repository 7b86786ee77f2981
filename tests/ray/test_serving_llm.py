"""``backend: serve`` with ``serving.engine: vllm``: Ray Serve LLM's OpenAI app (``build_openai_app`` + ``LLMConfig``)
on the CPU build of vLLM, scored through the ``openai`` client like any endpoint, torn down afterwards."""

from __future__ import annotations

import os

import pytest

from tests.conftest import free_port, hf_twin, shared_data

try:
    import vllm  # noqa: F401

    VLLM_ERROR = None
except Exception as exc:
    VLLM_ERROR = f"vllm is not importable: {type(exc).__name__}: {exc}"

pytestmark = [pytest.mark.vllm, pytest.mark.skipif(VLLM_ERROR is not None, reason=VLLM_ERROR or ""),
              pytest.mark.timeout(900)]

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def test_serve_llm_app_gives_the_hf_choices_and_is_torn_down(ray_session):
    from ray import serve

    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec, parse_model_spec
    from evalray.models.hf import HFBackend
    from evalray.models.openai_backend import OpenAIBackend
    from evalray.serving.backend import driver_context

    entry = BenchmarkSpec(name="mmlu", limit=10, subsets=["abstract_algebra", "anatomy"],
                          data_dir=str(shared_data("mmlu")))
    requests = [request for _, request, _ in registry.get("mmlu").requests(entry, False, 0)]
    port = free_port()
    spec = parse_model_spec(dict(name="tiny", backend="serve", source="builtin:tiny-llama", dtype="float32",
                                 resources={"num_cpus": 0.5}, engine={"max_model_len": 2048, "max_num_seqs": 16},
                                 serving={"engine": "vllm", "port": port, "app_name": "evalray-llm-test"}))
    with driver_context(spec) as client:
        assert "evalray-llm-test" in serve.status().applications
        backend = OpenAIBackend(client)
        try:
            served = backend.loglikelihood(requests)
        finally:
            backend.close()
    assert "evalray-llm-test" not in serve.status().applications
    assert all(g.error is None for g in served), [g.error for g in served if g.error][:2]
    local = HFBackend(hf_twin(spec)).loglikelihood(requests)
    worst = max(abs(a - b) for s, h in zip(served, local) for a, b in zip(s.loglikelihoods, h.loglikelihoods))
    assert worst < 1e-3, f"largest log-likelihood difference {worst}"
