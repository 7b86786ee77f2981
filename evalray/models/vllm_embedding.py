"""``backend: vllm`` embedding models: vLLM engines run by Ray Data LLM (``vLLMEngineProcessorConfig`` with
``task_type="embed"``), ``replicas`` engine replicas. On a CPU-only model (``num_gpus: 0``) the engines get a CPU
placement bundle, float32, eager mode and a KV cache sized as the generate backend sizes it (``VLLM_CPU_KVCACHE_SPACE``
or a share of free memory). Rows keep their ``uid``; the output ``embeddings`` become the row's ``embedding``.
"""

from __future__ import annotations

import os
from typing import Any

from evalray.job.embed_spec import EmbeddingModelSpec

STAGE_CPUS = 0.1  # the small map stages around the engines


def engine_kwargs(spec: EmbeddingModelSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"seed": 0}
    if spec.max_seq_length:
        kwargs["max_model_len"] = spec.max_seq_length
    if not spec.resources.num_gpus:
        kwargs.update(dtype="float32", enforce_eager=True, distributed_executor_backend="mp")
    kwargs.update(spec.engine)
    return kwargs


def processor_config(spec: EmbeddingModelSpec, path: str):
    from ray.data.llm import vLLMEngineProcessorConfig

    from evalray.models.vllm_backend import cpu_kv_cache_gib

    kwargs: dict[str, Any] = {}
    env = {k: os.environ[k] for k in ("VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_OMP_THREADS_BIND") if k in os.environ}
    if not spec.resources.num_gpus:
        kwargs["placement_group_config"] = {"bundle_per_worker": {"CPU": max(spec.resources.num_cpus, 0.5)}}
        env["VLLM_CPU_KVCACHE_SPACE"] = str(cpu_kv_cache_gib(spec))  # type: ignore[arg-type]
    return vLLMEngineProcessorConfig(
        model_source=path, task_type="embed", engine_kwargs=engine_kwargs(spec), concurrency=spec.replicas,
        batch_size=spec.batch_size, accelerator_type=spec.resources.accelerator_type, chat_template_stage=False,
        tokenize_stage=False, detokenize_stage=False, log_engine_metrics=False,
        runtime_env={"env_vars": env} if env else None, **kwargs)


class _Prompts:
    def __init__(self, spec_json: str):
        spec = EmbeddingModelSpec.model_validate_json(spec_json)
        self.prompts = {"query": spec.query_prompt or "", "document": spec.document_prompt or ""}

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"uid": row["uid"], "prompt": self.prompts.get(row["role"], "") + row["text"]}


def _embedding(row: dict[str, Any]) -> dict[str, Any]:
    import ray

    return {"uid": row["uid"], "embedding": [float(x) for x in row["embeddings"]], "served_by": "vllm",
            "node_id": ray.get_runtime_context().get_node_id()}


def build_stage(dataset, spec: EmbeddingModelSpec):
    from ray.data.llm import build_processor

    from evalray.models.embedding_backends import resolve_source
    from evalray.models.vllm_backend import _require_vllm

    _require_vllm()
    prompts = _Prompts(spec.model_dump_json())
    processor = build_processor(processor_config(spec, resolve_source(spec.source)), preprocess=prompts,
                                postprocess=_embedding, preprocess_map_kwargs={"num_cpus": STAGE_CPUS},
                                postprocess_map_kwargs={"num_cpus": STAGE_CPUS})
    return processor(dataset)
