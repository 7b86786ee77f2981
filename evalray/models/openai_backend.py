"""``backend: openai``: any OpenAI-compatible server (``/v1/chat/completions``, ``/v1/completions``) over aiohttp.

Each model actor keeps one event loop in a background thread with at most ``concurrency`` requests in flight, and
retries with exponential backoff on 429, 5xx, timeouts and dropped connections. The API key is read from the
environment variable named by ``api_key_env`` and is never written anywhere. Log-likelihoods go through
``/v1/completions`` with ``echo`` + ``logprobs`` (the continuation's tokens are those whose text offset lies past the
context), where the server supports it.

:func:`build_stage` runs these actors as the model's Ray Data generate stage with columnar (Arrow) batches: the
request columns are decoded without pandas, answers are appended as typed columns, and each actor works on a few large
batches at once, so the per-batch cost of the pipeline stays small next to the HTTP requests.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from typing import Any, Sequence
from urllib.parse import urlparse

from evalray.errors import BackendError
from evalray.job.spec import ModelSpec
from evalray.models.base import Backend
from evalray.types import Generation, Request

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def base_url(source: str) -> str:
    """The API root: ``http://host:port`` becomes ``http://host:port/v1``; a URL with a path is kept."""
    url = source.rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BackendError(f"openai source '{source}' is not an http(s) URL")
    return url if parsed.path not in ("", "/") else url + "/v1"


def api_headers(spec: ModelSpec) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if spec.api_key_env:
        key = os.environ.get(spec.api_key_env)
        if not key:
            raise BackendError(f"model '{spec.name}': environment variable {spec.api_key_env} (api_key_env) is not set")
        headers["Authorization"] = f"Bearer {key}"
    return headers


def check_reachable(spec: ModelSpec, timeout_s: float = 5.0) -> str:
    """Ask the server for its models (driver-side preflight); return the model id to use."""
    import json
    import urllib.error
    import urllib.request

    url = base_url(spec.source) + "/models"
    request = urllib.request.Request(url, headers=api_headers(spec))
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        if spec.model_id:  # some servers do not list models; the id is known
            return spec.model_id
        raise BackendError(f"model '{spec.name}': {url} answered HTTP {exc.code}; set model_id") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BackendError(f"model '{spec.name}': cannot reach {url} ({reason})") from None
    if spec.model_id:
        return spec.model_id
    models = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)]
    if not models:
        raise BackendError(f"model '{spec.name}': {url} lists no models; set model_id")
    return str(models[0])


class OpenAIBackend(Backend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.url = base_url(spec.source)
        self.headers = api_headers(spec)
        self.model_id = spec.model_id or check_reachable(spec)
        self.use_chat = spec.api == "chat" or (spec.api == "auto" and spec.chat)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="evalray-openai")
        self.thread.start()
        self.session = self._run(self._open_session())

    async def _open_session(self):
        import aiohttp

        self.semaphore = asyncio.Semaphore(self.spec.concurrency)
        connector = aiohttp.TCPConnector(limit=self.spec.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.spec.timeout_s)
        return aiohttp.ClientSession(connector=connector, timeout=timeout, headers=self.headers)

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        if self.loop.is_running():
            self._run(self.session.close())
            self.loop.call_soon_threadsafe(self.loop.stop)

    # ---- HTTP ------------------------------------------------------------------------------------------------
    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        import aiohttp

        last_error = ""
        for attempt in range(self.spec.max_retries + 1):
            if attempt:
                await asyncio.sleep(min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random()))
            try:
                async with self.semaphore:
                    async with self.session.post(self.url + path, json=payload) as response:
                        if response.status == 200:
                            return await response.json(content_type=None)
                        text = (await response.text())[:200].replace("\n", " ")
                        last_error = f"HTTP {response.status}: {text}"
                        if response.status not in RETRY_STATUS:
                            break
            except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
                last_error = f"{type(exc).__name__}: {exc}".strip()
        raise BackendError(last_error or "request failed")

    def _sampling(self, request: Request) -> dict[str, Any]:
        gen = self.spec.generation
        payload: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": min(request.max_tokens or gen.max_tokens, gen.max_tokens),
            "temperature": gen.temperature,
            "top_p": gen.top_p,
        }
        if gen.seed is not None:
            payload["seed"] = gen.seed
        stop = list(dict.fromkeys(list(request.stop) + list(gen.stop)))
        if stop:
            payload["stop"] = stop[:4]
        if request.repeats > 1:
            payload["n"] = request.repeats
        return payload

    async def _generate_one(self, request: Request) -> Generation:
        from evalray.models.hf import truncate_stop

        try:
            payload = self._sampling(request)
            if self.use_chat:
                messages = list(request.messages) or [{"role": "user", "content": request.prompt}]
                body = await self._post("/chat/completions", {**payload, "messages": messages})
                texts = [(c.get("message") or {}).get("content") or "" for c in body.get("choices", [])]
            else:
                prompt = request.prompt or "\n\n".join(m["content"] for m in request.messages)
                body = await self._post("/completions", {**payload, "prompt": prompt})
                texts = [c.get("text") or "" for c in body.get("choices", [])]
            if not texts:
                return Generation(error="server returned no choices")
            texts = [truncate_stop(t, request.stop) for t in texts]  # the API allows only 4 stop strings
            return Generation(texts=(texts * request.repeats)[: max(request.repeats, len(texts))])
        except BackendError as exc:
            return Generation(error=str(exc))

    async def _loglikelihood_one(self, request: Request) -> Generation:
        result = Generation()
        contexts = getattr(request, "contexts", ()) or ()
        try:
            for choice, continuation in enumerate(request.continuations):
                context = contexts[choice] if contexts else request.prompt
                body = await self._post("/completions", {
                    "model": self.model_id, "prompt": context + continuation, "max_tokens": 1,
                    "temperature": 0.0, "echo": True, "logprobs": 1,
                })
                logprob, greedy, count = continuation_logprob(body, len(context), len(context + continuation))
                result.loglikelihoods.append(logprob)
                result.is_greedy.append(greedy)
                result.continuation_tokens.append(count)
        except BackendError as exc:
            return Generation(error=str(exc))
        return result

    async def _gather(self, coroutines):
        return await asyncio.gather(*coroutines)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(self._gather([self._generate_one(r) for r in requests]))

    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(self._gather([self._loglikelihood_one(r) for r in requests]))


def continuation_logprob(body: dict[str, Any], start: int, end: int) -> tuple[float, bool, int]:
    """Sum the echoed prompt log-probs of the tokens whose text offset lies in [start, end)."""
    try:
        logprobs = body["choices"][0]["logprobs"]
        offsets, values = logprobs["text_offset"], logprobs["token_logprobs"]
        tokens, tops = logprobs.get("tokens") or [], logprobs.get("top_logprobs") or []
    except (KeyError, IndexError, TypeError):
        raise BackendError("server does not return echo+logprobs on /v1/completions; use mode: generate") from None
    total, greedy, count = 0.0, True, 0
    for i, offset in enumerate(offsets):
        if start <= offset < end and values[i] is not None:
            total += float(values[i])
            count += 1
            if i < len(tops) and tops[i] and i < len(tokens):
                greedy = greedy and max(tops[i], key=tops[i].get) == tokens[i]
    if count == 0:
        raise BackendError("server echoed no continuation tokens; it may not support echo+logprobs")
    return total, greedy, count


# ---- Ray Data generate stage --------------------------------------------------------------------------------------
# Requests an actor is handed per call: several times its concurrency, so the fixed cost of a Ray Data task (block
# transfer, batch conversion) is spread over many requests while the semaphore keeps ``concurrency`` in flight.
STAGE_BATCH_PER_CONCURRENCY = 4
# Batches one actor works on at once (their requests share the actor's event loop and semaphore): while one batch
# drains its last requests the next one keeps the connection pool full.
STAGE_BATCHES_IN_FLIGHT = 3
REQUEST_COLUMNS = ("kind", "prompt", "messages", "continuations", "stop", "max_tokens", "repeats", "uid")


def stage_batch_size(spec: ModelSpec) -> int:
    return max(spec.batch_size, STAGE_BATCH_PER_CONCURRENCY * spec.concurrency)


class OpenAIStage:
    """One client replica as a Ray Data actor: an Arrow batch of request rows in, the same rows plus the
    :data:`~evalray.models.base.OUTPUT_COLUMNS` out (a backend failure becomes an error on each row of the batch)."""

    def __init__(self, spec_json: str, secrets: dict[str, str] | None = None) -> None:
        import ray

        os.environ.update(secrets or {})  # API keys live in this process's memory only
        self.backend = OpenAIBackend(ModelSpec.model_validate_json(spec_json))
        context = ray.get_runtime_context()
        self.actor_id = context.get_actor_id() or f"task-{context.get_task_id()}"
        self.node_id = context.get_node_id()

    def __call__(self, table):
        import pyarrow as pa

        from evalray.models.base import answer_requests, request_from_row

        names = [c for c in REQUEST_COLUMNS if c in table.column_names]
        requests = [request_from_row(row) for row in table.select(names).to_pylist()]
        generations = answer_requests(self.backend, requests)
        n = len(generations)
        columns = {
            "texts": pa.array([list(g.texts) for g in generations], pa.list_(pa.string())),
            "loglikelihoods": pa.array([[float(x) for x in g.loglikelihoods] for g in generations],
                                       pa.list_(pa.float64())),
            "is_greedy": pa.array([[bool(x) for x in g.is_greedy] for g in generations], pa.list_(pa.bool_())),
            "error": pa.array([g.error for g in generations], pa.string()),
            "served_by": pa.array([self.actor_id] * n, pa.string()),
            "node_id": pa.array([self.node_id] * n, pa.string()),
        }
        for name, column in columns.items():
            if name in table.column_names:
                table = table.drop_columns([name])
            table = table.append_column(name, column)
        return table

    def __del__(self) -> None:  # close the HTTP session when the pool lets the actor go (never wait long)
        backend = getattr(self, "backend", None)
        if backend is not None and backend.loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(backend.session.close(), backend.loop).result(timeout=2.0)
                backend.loop.call_soon_threadsafe(backend.loop.stop)
            except Exception:
                pass


def build_stage(ds, spec: ModelSpec):
    """The generate stage of an ``openai`` model: ``replicas`` :class:`OpenAIStage` actors with the model's
    resources, each answering :data:`STAGE_BATCHES_IN_FLIGHT` Arrow batches of :func:`stage_batch_size` rows at once."""
    import ray

    from evalray.pipeline.stages import driver_secrets

    resources = spec.resources
    return ds.map_batches(
        OpenAIStage,
        fn_constructor_args=(spec.model_dump_json(), driver_secrets(spec)),
        # several calls of the UDF really run at once per actor (Ray Data runs one at a time unless told so)
        compute=ray.data.ActorPoolStrategy(size=spec.replicas, max_tasks_in_flight_per_actor=STAGE_BATCHES_IN_FLIGHT,
                                           max_concurrent_calls_per_actor=STAGE_BATCHES_IN_FLIGHT,
                                           enable_true_multi_threading=STAGE_BATCHES_IN_FLIGHT > 1),
        num_cpus=resources.num_cpus,
        num_gpus=resources.num_gpus or None,
        batch_size=stage_batch_size(spec),
        batch_format="pyarrow",
        zero_copy_batch=True,
        memory=int(resources.memory_gb * 1024**3) if resources.memory_gb else None,
        accelerator_type=resources.accelerator_type,
    )


BACKEND = OpenAIBackend
