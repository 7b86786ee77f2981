"""Ray Data actor pools of embedding models and rerankers.

Rows follow :mod:`evalray.rows`: an encode row carries ``uid`` (``<task>::<role>::<id>``), ``role`` (query |
document) and ``text``, and leaves with ``embedding`` (float32 list) and the actor's identity; a rerank row carries
``uid``, ``query`` and ``document`` and leaves with ``rerank_score``. No stage depends on row order.
"""

from __future__ import annotations

from typing import Any

from evalray.job.embed_spec import EmbeddingModelSpec
from evalray.models.stage import map_batches_options
from evalray.rows import EMBEDDING_TYPE


def _identity() -> tuple[str, str]:
    import ray

    context = ray.get_runtime_context()
    return context.get_actor_id() or "driver", context.get_node_id()


def _with_identity(batch, actor_id: str, node_id: str):
    """The batch with the ``served_by`` / ``node_id`` columns of the actor that answered it."""
    import pyarrow as pa

    n = batch.num_rows
    return (batch.append_column("served_by", pa.array([actor_id] * n, type=pa.string()))
            .append_column("node_id", pa.array([node_id] * n, type=pa.string())))


def _secrets(spec: EmbeddingModelSpec) -> dict[str, str]:
    import os

    name = spec.api_key_env
    return {name: os.environ[name]} if name and name in os.environ else {}


class EncodeActor:
    """One embedding model replica: ``text`` -> ``embedding``."""

    def __init__(self, spec_json: str, secrets: dict[str, str]):
        from evalray.models.embedding_backends import build_encoder

        self.spec = EmbeddingModelSpec.model_validate_json(spec_json)
        self.encoder = build_encoder(self.spec, secrets)
        self.actor_id, self.node_id = _identity()

    def __call__(self, batch):
        import numpy as np
        import pyarrow as pa

        texts = batch.column("text").to_pylist()
        roles = batch.column("role").to_pylist()
        vectors = np.zeros((len(texts), 0), dtype=np.float32)
        for role in sorted(set(roles)):  # one encode call per role (queries and documents get their own prompts)
            positions = [i for i, r in enumerate(roles) if r == role]
            part = self.encoder.encode([texts[i] for i in positions], role)
            if vectors.shape[1] == 0:
                vectors = np.zeros((len(texts), part.shape[1]), dtype=np.float32)
            vectors[positions] = part
        flat = pa.array(vectors.reshape(-1), type=pa.float32())
        embedding = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]).cast(EMBEDDING_TYPE) \
            if len(texts) else pa.array([], type=EMBEDDING_TYPE)
        return _with_identity(batch.append_column("embedding", embedding), self.actor_id, self.node_id)


class RerankActor:
    """One reranker replica: (``query``, ``document``) -> ``rerank_score``."""

    def __init__(self, spec_json: str, secrets: dict[str, str]):
        from evalray.models.embedding_backends import build_reranker

        self.spec = EmbeddingModelSpec.model_validate_json(spec_json)
        self.reranker = build_reranker(self.spec, secrets)
        self.actor_id, self.node_id = _identity()

    def __call__(self, batch):
        import pyarrow as pa

        scores = self.reranker.score(batch.column("query").to_pylist(), batch.column("document").to_pylist())
        return _with_identity(batch.append_column("rerank_score", pa.array([float(s) for s in scores],
                                                                           type=pa.float64())),
                              self.actor_id, self.node_id)


def pool_stage(dataset, spec: EmbeddingModelSpec):
    """The model's actor pool over ``dataset``: ``replicas`` actors with the model's resources."""
    import ray

    if spec.backend == "vllm":  # Ray Data LLM owns the engines' actor pool
        from evalray.models.vllm_embedding import build_stage

        return build_stage(dataset, spec)
    actor = EncodeActor if spec.kind == "embedding" else RerankActor
    return dataset.map_batches(
        actor,
        fn_constructor_args=(spec.model_dump_json(), _secrets(spec)),
        compute=ray.data.ActorPoolStrategy(size=spec.replicas),
        batch_size=spec.batch_size,
        batch_format="pyarrow",
        zero_copy_batch=True,
        **map_batches_options(spec),
    )
