"""The RAG scoring pool: each actor holds a judge client (an OpenAI-compatible chat endpoint) and, optionally, an
embedding model, and scores whole RAG samples with the steps of :mod:`evalray.scoring.rag`.

A row carries ``uid``, ``query`` (the question), ``output`` (the answer), ``contexts`` (the retrieved contexts) and
``target`` (the reference); it leaves with ``scores`` (metric -> value, only the metrics that succeeded),
``metric_errors`` (JSON: metric -> why it failed) and ``judge_calls``. Rows of a batch are scored concurrently
(``concurrency`` threads); the steps of one row run in order.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from evalray.errors import BackendError
from evalray.job.embed_spec import EmbeddingModelSpec
from evalray.scoring import rag


class JudgeClient:
    """``POST {source}/chat/completions`` at temperature 0, with retries of failed calls."""

    def __init__(self, spec: EmbeddingModelSpec, secrets: dict[str, str]):
        from evalray.models.embedding_backends import _post

        self.spec, self.secrets, self._post = spec, secrets, _post
        self.url = spec.source.rstrip("/") + "/chat/completions"

    def ask(self, prompt: str) -> str:
        body = {"model": self.spec.served_model or self.spec.name, "temperature": 0.0,
                "max_tokens": self.spec.max_tokens, "messages": [{"role": "user", "content": prompt}]}
        last: Exception | None = None
        for attempt in range(self.spec.retries + 1):
            try:
                reply = self._post(self.url, body, self.spec, self.secrets)
                return str(reply["choices"][0]["message"]["content"] or "")
            except (BackendError, KeyError, IndexError, TypeError) as exc:
                last = exc
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise BackendError(f"judge call failed after {self.spec.retries + 1} attempts: {last}")


class RagScorer:
    """Scores one sample: each metric on its own, a failure of one never scoring another."""

    def __init__(self, judge: JudgeClient | None, encoder, metrics: list[str], strictness: int):
        self.judge, self.encoder, self.metrics, self.strictness = judge, encoder, metrics, strictness
        self.calls = 0

    def _ask(self, prompt: str) -> str:
        assert self.judge is not None
        self.calls += 1
        return self.judge.ask(prompt)

    def score(self, question: str, answer: str, contexts: list[str], reference: str) -> tuple[dict, dict, int]:
        steps: dict[str, Callable[[], float | None]] = {
            "faithfulness": lambda: self._faithfulness(question, answer, contexts),
            "answer_relevancy": lambda: self._relevancy(question, answer, contexts),
            "context_precision": lambda: rag.context_precision(
                [rag.usefulness(self._ask(rag.usefulness_prompt(question, c, reference))) for c in contexts]),
            "context_recall": lambda: rag.context_recall(rag.verdicts(
                self._ask(rag.attribution_prompt(question, contexts, reference)), 0, "classifications", "attributed")),
            "answer_similarity": lambda: rag.cosine(*self.encoder.encode([answer, reference], "text")),
        }
        values: dict[str, float] = {}
        errors: dict[str, str] = {}
        before = self.calls
        for metric in self.metrics:
            try:
                value = steps[metric]()
            except rag.UnreadableReply as exc:
                errors[metric] = f"unparsable: {exc}"[:300]
                continue
            except BackendError as exc:
                errors[metric] = f"failed: {exc}"[:300]
                continue
            if value is None:
                errors[metric] = "unparsable: nothing to score (no statements / sentences)"
            else:
                values[metric] = float(value)
        return values, errors, self.calls - before

    def _faithfulness(self, question: str, answer: str, contexts: list[str]) -> float | None:
        claims = rag.statements(self._ask(rag.statements_prompt(question, answer)))
        if not claims:
            return None
        return rag.faithfulness(rag.verdicts(self._ask(rag.verdicts_prompt(contexts, claims)), len(claims)))

    def _relevancy(self, question: str, answer: str, contexts: list[str]) -> float:
        generated = [rag.generated_question(self._ask(rag.question_prompt(answer, contexts)))
                     for _ in range(self.strictness)]
        vectors = self.encoder.encode([question] + [g for g, _ in generated], "query")
        return rag.answer_relevancy(vectors[0], list(vectors[1:]), [n for _, n in generated])


class RagActor:
    def __init__(self, judge_json: str | None, encoder_json: str | None, metrics: list[str], strictness: int,
                 secrets: dict[str, str]):
        from evalray.models.embedding_backends import build_encoder

        judge_spec = EmbeddingModelSpec.model_validate_json(judge_json) if judge_json else None
        encoder_spec = EmbeddingModelSpec.model_validate_json(encoder_json) if encoder_json else None
        self.judge = JudgeClient(judge_spec, secrets) if judge_spec else None
        self.encoder = build_encoder(encoder_spec, secrets) if encoder_spec else None
        self.metrics, self.strictness = metrics, strictness
        self.threads = judge_spec.concurrency if judge_spec else 1

    def __call__(self, batch):
        import pyarrow as pa

        rows = batch.to_pylist()

        def one(row: dict[str, Any]):
            scorer = RagScorer(self.judge, self.encoder, self.metrics, self.strictness)
            return scorer.score(row["query"], row["output"], list(row["contexts"]), row["target"])

        with ThreadPoolExecutor(max_workers=max(1, min(self.threads, len(rows)))) as pool:
            outcomes = list(pool.map(one, rows))
        return batch.append_column("scores", pa.array([o[0] for o in outcomes], type=pa.map_(pa.string(), pa.float64()))) \
            .append_column("metric_errors", pa.array([json.dumps(o[1], sort_keys=True) for o in outcomes])) \
            .append_column("judge_calls", pa.array([o[2] for o in outcomes], type=pa.int64()))


def rag_stage(dataset, judge: EmbeddingModelSpec | None, encoder: EmbeddingModelSpec | None, metrics: list[str],
              strictness: int):
    """The RAG scoring pool (the judge's ``replicas`` and resources)."""
    import os

    import ray

    from evalray.models.stage import map_batches_options

    owner = judge or encoder
    assert owner is not None
    secrets = {n: os.environ[n] for n in {getattr(judge, "api_key_env", None), getattr(encoder, "api_key_env", None)}
               if n and n in os.environ}
    return dataset.map_batches(
        RagActor,
        fn_constructor_args=(judge.model_dump_json() if judge else None, encoder.model_dump_json() if encoder else None,
                             metrics, strictness, secrets),
        compute=ray.data.ActorPoolStrategy(size=owner.replicas),
        batch_size=max(1, min(owner.batch_size, 16)),
        batch_format="pyarrow",
        zero_copy_batch=True,
        **map_batches_options(owner),
    )
