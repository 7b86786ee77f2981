"""The one decoding rule (stops, token caps) and the CPU KV-cache choice of the vllm backend."""

from __future__ import annotations

import pytest

from evalray.errors import BackendError
from evalray.job.spec import GenerationSpec, parse_model_spec
from evalray.models.decoding import max_new_tokens, stop_strings, truncate_stop
from evalray.types import Request


def test_budget_is_the_request_capped_by_the_model():
    gen = GenerationSpec(max_tokens=64)
    assert max_new_tokens(Request(kind="generate", max_tokens=16), gen) == 16
    assert max_new_tokens(Request(kind="generate", max_tokens=512), gen) == 64
    assert max_new_tokens(Request(kind="generate"), gen) == 64


def test_stops_are_the_benchmarks_then_the_models_without_duplicates():
    gen = GenerationSpec(stop=["\n\n", "</s>", "FIN"])
    request = Request(kind="generate", stop=("\n\n", "Q:", "", "A:"))
    assert stop_strings(request, gen) == ("\n\n", "Q:", "A:", "</s>", "FIN")
    assert truncate_stop("answer FIN more Q: rest", stop_strings(request, gen)) == "answer "
    assert truncate_stop("no stop here", ()) == "no stop here"


def test_vllm_cpu_kv_cache_fits_the_machine_or_says_why(monkeypatch):
    from evalray.models.vllm_backend import cpu_kv_cache_gib

    spec = parse_model_spec({"name": "m", "backend": "vllm", "source": "x", "replicas": 2})
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    assert cpu_kv_cache_gib(spec, available_bytes=64 * 1024**3) == 4  # capped at vLLM's default
    assert cpu_kv_cache_gib(spec, available_bytes=12 * 1024**3) == 1  # a quarter of 12 GiB over 2 replicas
    with pytest.raises(BackendError, match="set VLLM_CPU_KVCACHE_SPACE"):
        cpu_kv_cache_gib(spec, available_bytes=3 * 1024**3)
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")
    assert cpu_kv_cache_gib(spec, available_bytes=0) == 2  # the user's choice wins
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "lots")
    with pytest.raises(BackendError, match="not a number"):
        cpu_kv_cache_gib(spec)
