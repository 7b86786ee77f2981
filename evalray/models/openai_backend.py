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

from evalray.errors import BackendError, redact
from evalray.job.spec import OpenAIModelSpec
from evalray.models.decoding import OPENAI_API_MAX_STOP, max_new_tokens, stop_strings, truncate_stop
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


def api_headers(spec: OpenAIModelSpec) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if spec.api_key_env:
        key = os.environ.get(spec.api_key_env)
        if not key:
            raise BackendError(f"model '{spec.name}': environment variable {spec.api_key_env} (api_key_env) is not set")
        headers["Authorization"] = f"Bearer {key}"
    return headers


def check_reachable(spec: OpenAIModelSpec, timeout_s: float = 5.0) -> str:
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
    def __init__(self, spec: OpenAIModelSpec) -> None:
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
                        text = redact((await response.text(errors="replace"))[:2000])[:200].replace("\n", " ")
                        last_error = f"HTTP {response.status}: {text}"  # keys in error bodies never stored
                        if response.status not in RETRY_STATUS:
                            break
            except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
                last_error = redact(f"{type(exc).__name__}: {exc}".strip())
        raise BackendError(last_error or "request failed")

    def _sampling(self, request: Request) -> dict[str, Any]:
        gen = self.spec.generation
        payload: dict[str, Any] = {
            "model": self.model_id,
            "max_tokens": max_new_tokens(request, gen),
            "temperature": gen.temperature,
            "top_p": gen.top_p,
        }
        if gen.seed is not None:
            payload["seed"] = gen.seed
        stop = stop_strings(request, gen)
        if stop:
            payload["stop"] = list(stop[:OPENAI_API_MAX_STOP])
        if request.repeats > 1:
            payload["n"] = request.repeats
        return payload

    async def _generate_one(self, request: Request) -> Generation:
        try:
            payload = self._sampling(request)
            if self.use_chat:
                messages = list(request.messages) or [{"role": "user", "content": request.prompt}]
                body = await self._post("/chat/completions", {**payload, "messages": messages})
                texts = answer_texts(body, chat=True)
            else:
                prompt = request.prompt or "\n\n".join(m["content"] for m in request.messages)
                body = await self._post("/completions", {**payload, "prompt": prompt})
                texts = answer_texts(body, chat=False)
            # the API takes only the first four stop strings: cut at every one of them here
            stop = stop_strings(request, self.spec.generation)
            texts = [truncate_stop(t, stop) for t in texts]
            return Generation(texts=(texts * request.repeats)[: max(request.repeats, len(texts))])
        except BackendError as exc:
            return Generation(error=str(exc))
        except Exception as exc:  # anything unexpected stays on this one sample
            return Generation(error=f"{type(exc).__name__}: {exc}"[:500])

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
        except Exception as exc:  # anything unexpected stays on this one sample
            return Generation(error=f"{type(exc).__name__}: {exc}"[:500])
        return result

    async def _gather(self, coroutines):
        return await asyncio.gather(*coroutines)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(self._gather([self._generate_one(r) for r in requests]))

    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(self._gather([self._loglikelihood_one(r) for r in requests]))


def answer_texts(body: Any, chat: bool) -> list[str]:
    """The texts of a (chat) completion response; a body of any other shape is a BackendError for its sample."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices:
        raise BackendError(f"server returned no choices ({_shape(body)})")
    texts = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise BackendError(f"server returned a choice that is not an object ({_shape(choice)})")
        value = (choice.get("message") or {}).get("content") if chat else choice.get("text")
        if value is not None and not isinstance(value, str):
            raise BackendError(f"server returned a {type(value).__name__} as the answer text")
        texts.append(value or "")
    return texts


def _shape(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def continuation_logprob(body: dict[str, Any], start: int, end: int) -> tuple[float, bool, int]:
    """Sum the echoed prompt log-probs of the tokens whose text offset lies in [start, end)."""
    try:
        logprobs = body["choices"][0]["logprobs"]
        offsets, values = logprobs["text_offset"], logprobs["token_logprobs"]
        tokens, tops = logprobs.get("tokens") or [], logprobs.get("top_logprobs") or []
    except (KeyError, IndexError, TypeError):
        raise BackendError("server does not return echo+logprobs on /v1/completions; use mode: generate") from None
    shift = _special_prefix_length(body, tokens)
    total, greedy, count = 0.0, True, 0
    for i, offset in enumerate(offsets):
        offset -= shift
        if start <= offset < end and values[i] is not None:
            total += float(values[i])
            count += 1
            if i < len(tops) and tops[i] and i < len(tokens):
                greedy = greedy and max(tops[i], key=tops[i].get) == tokens[i]
    if count == 0:
        raise BackendError("server echoed no continuation tokens; it may not support echo+logprobs")
    return total, greedy, count


def _special_prefix_length(body: dict[str, Any], tokens: list[str]) -> int:
    """Characters that special tokens the server added (a BOS such as ``<s>``) put before the prompt in the echoed
    tokens' offsets: vLLM counts the BOS token's text, while the echoed ``text`` is the prompt itself."""
    try:
        text = body["choices"][0].get("text") or ""
    except (KeyError, IndexError, TypeError, AttributeError):
        return 0
    joined = "".join(t for t in tokens if isinstance(t, str))
    if text and len(joined) > len(text) and joined.endswith(text):
        return len(joined) - len(text)
    return 0


# ---- Ray Data generate stage --------------------------------------------------------------------------------------
# Requests an actor is handed per call: several times its concurrency, so the fixed cost of a Ray Data task (block
# transfer, batch conversion) is spread over many requests while the semaphore keeps ``concurrency`` in flight.
STAGE_BATCH_PER_CONCURRENCY = 4
# Batches one actor works on at once (their requests share the actor's event loop and semaphore): while one batch
# drains its last requests the next one keeps the connection pool full.
STAGE_BATCHES_IN_FLIGHT = 3


def stage_batch_size(spec: OpenAIModelSpec) -> int:
    return max(spec.batch_size, STAGE_BATCH_PER_CONCURRENCY * spec.concurrency)


def build_stage(ds, spec: OpenAIModelSpec, score_entries: str | None = None):
    """The generate stage of an ``openai`` model: ``replicas`` client actors with the model's resources, each
    answering :data:`STAGE_BATCHES_IN_FLIGHT` Arrow batches of :func:`stage_batch_size` rows at once (and scoring
    them when ``score_entries`` is given)."""
    from evalray.models.stage import actor_pool_stage

    return actor_pool_stage(ds, spec, __name__, batch_size=stage_batch_size(spec),
                            calls_per_actor=STAGE_BATCHES_IN_FLIGHT, score_entries=score_entries)


def preflight(spec: OpenAIModelSpec) -> None:
    check_reachable(spec)


BACKEND = OpenAIBackend
