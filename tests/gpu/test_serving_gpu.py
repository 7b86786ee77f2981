"""GPU hosting: tensor-parallel vLLM engines placed by Ray Data LLM, and the Ray Serve LLM path of ``backend: serve``.

Marked ``gpu`` and skipped without enough GPUs (``pytest -m gpu tests/gpu`` on a GPU machine with vLLM installed).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import free_port


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


try:
    import vllm  # noqa: F401

    VLLM_ERROR = None
except Exception as exc:
    VLLM_ERROR = f"vllm is not importable: {type(exc).__name__}: {exc}"

pytestmark = [pytest.mark.gpu, pytest.mark.vllm, pytest.mark.timeout(1800),
              pytest.mark.skipif(VLLM_ERROR is not None, reason=VLLM_ERROR or "")]
MODEL = os.environ.get("EVALRAY_GPU_TEST_MODEL", "builtin:tiny-llama")  # 4 heads: tensor-parallel 2 divides them


def spec(**update):
    from evalray.job.spec import parse_model_spec

    fields = dict(name="gpu-tiny", backend="vllm", source=MODEL, dtype="float16", batch_size=16,
                  resources={"num_cpus": 1, "num_gpus": 1}, generation={"max_tokens": 16},
                  engine={"max_model_len": 1024, "gpu_memory_utilization": 0.3})
    fields.update(update)
    return parse_model_spec(fields)


def rows(n: int = 16):
    from evalray.rows import encode_request as request_to_columns
    from evalray.types import Request

    out = []
    for i in range(n):
        out.append({"uid": f"g{i}", **request_to_columns(Request(kind="generate", prompt=f"Count to {i}:"))})
        out.append({"uid": f"l{i}", **request_to_columns(Request(kind="loglikelihood", prompt=f"{i} + 1 =",
                                                                 continuations=(" 1", " 2")))})
    return out


@pytest.mark.skipif(gpu_count() < 2, reason="needs 2 GPUs for tensor parallelism")
def test_tensor_parallel_engine_is_placed_on_two_gpus(ray_session):
    from ray.util.state import list_placement_groups

    from evalray.models import vllm_backend

    model = spec(engine={"max_model_len": 1024, "gpu_memory_utilization": 0.3, "tensor_parallel_size": 2})
    out = vllm_backend.build_stage(ray_session.data.from_items(rows()), model).take_all()
    assert sorted(r["uid"] for r in out) == sorted(r["uid"] for r in rows())
    assert all(not r["error"] for r in out), [r["error"] for r in out if r["error"]][:2]
    groups = list_placement_groups(detail=True, limit=1000)
    two_gpu = [g for g in groups if sum(b.get("bundle_resources", b).get("GPU", 0) for b in g.bundles) == 2]
    assert two_gpu, "no placement group with two GPU bundles was created for the tensor-parallel engine"


@pytest.mark.skipif(gpu_count() < 1, reason="needs a GPU")
def test_serve_llm_app_answers_like_the_batch_engine_and_is_torn_down(ray_session):
    from ray import serve

    from evalray.models.openai_backend import OpenAIBackend
    from evalray.models.vllm_backend import VLLMBackend
    from evalray.serving.backend import driver_context
    from evalray.types import Request

    port = free_port()
    model = spec(backend="serve", serving={"engine": "vllm", "port": port, "app_name": "evalray-gpu-llm"})
    requests = [Request(kind="loglikelihood", prompt=f"{i} + 1 =", continuations=(" 1", " 2")) for i in range(8)]
    with driver_context(model) as client:
        assert "evalray-gpu-llm" in serve.status().applications
        backend = OpenAIBackend(client)
        try:
            served = backend.loglikelihood(requests)
            texts = backend.generate([Request(kind="generate", prompt="Hello", max_tokens=8)])
        finally:
            backend.close()
    assert "evalray-gpu-llm" not in serve.status().applications
    assert all(g.error is None for g in served + texts), [g.error for g in served + texts if g.error]
    local = VLLMBackend(spec()).loglikelihood(requests)
    for a, b in zip(served, local):
        assert [x > y for x, y in zip(a.loglikelihoods, a.loglikelihoods[1:])] == \
               [x > y for x, y in zip(b.loglikelihoods, b.loglikelihoods[1:])]
