"""evalray's OpenAI-compatible Ray Serve deployment around the ``hf`` backend (used where Ray Serve LLM / vLLM is not).

Endpoints: ``GET /v1/models``, ``POST /v1/completions`` (``echo`` + ``logprobs`` for log-likelihood scoring,
``stream``), ``POST /v1/chat/completions`` (``stream``), ``GET /health``. Concurrent non-streaming generation requests
with the same settings are batched (``serve.batch``) into one ``generate`` call of the backend; the model itself runs
in a worker thread so the replica keeps answering health checks.
"""


import asyncio
import json
import time
import uuid
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request as HTTPRequest
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve

from evalray.job.spec import ModelSpec, parse_model_spec
from evalray.serving.hf_engine import HFEngine, Sampling
from evalray.serving.replicas import replica_settings

api = FastAPI(title="evalray OpenAI-compatible server")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind, "code": status}})


def _sampling(body: dict[str, Any], default_max: int) -> Sampling:
    stop = body.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    return Sampling(
        max_tokens=int(default_max if max_tokens is None else max_tokens),
        temperature=float(body.get("temperature", 1.0) if body.get("temperature") is not None else 1.0),
        top_p=float(body.get("top_p") or 1.0),
        seed=body.get("seed"),
        stop=stop,
        n=int(body.get("n") or 1),
        ignore_eos=bool(body.get("ignore_eos", False)),
    )


def _content(content: Any) -> str:
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


async def _json(request: HTTPRequest) -> dict[str, Any] | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the request body is not JSON")
    if not isinstance(body, dict):
        return _error(400, "the request body must be a JSON object")
    return body


def _sse(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@serve.deployment
@serve.ingress(api)
class OpenAIServer:
    def __init__(self, spec_json: str, model_id: str) -> None:
        self.spec = parse_model_spec(spec_json)
        self.model_id = model_id
        self.engine = HFEngine(self.spec)
        self.created = int(time.time())
        self._batched.set_max_batch_size(self.spec.batch_size)

    # ---- plumbing ------------------------------------------------------------------------------------------------
    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.02)
    async def _batched(self, calls: list[tuple[Any, Sampling]]) -> list[Any]:
        """Concurrent generate calls: those with equal settings go to the model together."""
        results: list[Any] = [None] * len(calls)
        groups: dict[Sampling, list[int]] = {}
        for index, (_, sampling) in enumerate(calls):
            groups.setdefault(sampling, []).append(index)
        for sampling, indices in groups.items():
            try:
                answers = await asyncio.to_thread(self.engine.generate, [calls[i][0] for i in indices], sampling)
            except Exception as exc:  # one failed group fails its own calls only
                answers = [exc] * len(indices)
            for i, answer in zip(indices, answers):
                results[i] = answer
        return results

    async def _generate(self, prompt: Any, sampling: Sampling):
        answer = await self._batched((prompt, sampling))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def _check_model(self, body: dict[str, Any]) -> JSONResponse | None:
        model = body.get("model")
        if model not in (None, "", self.model_id):
            return _error(404, f"model '{model}' does not exist; this server serves '{self.model_id}'", "not_found")
        return None

    # ---- endpoints -------------------------------------------------------------------------------------------
    @api.get("/health")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/models")
    async def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": self.model_id, "object": "model", "created": self.created,
                                            "owned_by": "evalray", "max_model_len": self.engine.backend.max_length}]}

    @api.post("/v1/completions")
    async def completions(self, request: HTTPRequest):
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        if (bad := self._check_model(body)) is not None:
            return bad
        prompts = body.get("prompt", "")
        prompts = [prompts] if isinstance(prompts, str) else list(prompts)
        if not prompts or not all(isinstance(p, str) for p in prompts):
            return _error(400, "prompt must be a string or a list of strings")
        sampling = _sampling(body, 16)
        rid = f"cmpl-{uuid.uuid4().hex}"
        if body.get("stream"):
            if len(prompts) != 1 or sampling.n != 1:
                return _error(400, "streaming takes one prompt and n=1")
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return _sse(self._stream(rid, "text_completion", prompts[0], sampling, usage, chat=False))
        if body.get("echo") and body.get("logprobs") is not None:
            return await self._echo(rid, body, prompts, sampling)
        try:
            answers = await asyncio.gather(*(self._generate(p, sampling) for p in prompts))
        except Exception as exc:
            return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
        choices, index = [], 0
        for prompt, answer in zip(prompts, answers):
            for text, reason in zip(answer.texts, answer.finish_reasons):
                choices.append({"index": index, "text": prompt + text if body.get("echo") else text,
                                "logprobs": None, "finish_reason": reason})
                index += 1
        return self._response(rid, "text_completion", choices, answers)

    async def _echo(self, rid: str, body: dict[str, Any], prompts: list[str], sampling: Sampling):
        if sampling.max_tokens > 1:
            return _error(400, "echo with logprobs supports max_tokens 0 or 1 on this server")
        try:
            objects = await asyncio.to_thread(self.engine.echo_logprobs, prompts, int(body.get("logprobs") or 1),
                                              sampling.max_tokens)
        except Exception as exc:
            return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
        choices = [{"index": i, "text": o.pop("text"), "logprobs": o, "finish_reason": "length"}
                   for i, o in enumerate(objects)]
        prompt_tokens = sum(len(o["tokens"]) - sampling.max_tokens for o in objects)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": sampling.max_tokens * len(objects),
                 "total_tokens": prompt_tokens + sampling.max_tokens * len(objects)}
        return {"id": rid, "object": "text_completion", "created": int(time.time()), "model": self.model_id,
                "choices": choices, "usage": usage}

    @api.post("/v1/chat/completions")
    async def chat_completions(self, request: HTTPRequest):
        body = await _json(request)
        if isinstance(body, JSONResponse):
            return body
        if (bad := self._check_model(body)) is not None:
            return bad
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty list")
        messages = [{"role": str(m.get("role", "user")), "content": _content(m.get("content"))} for m in messages]
        sampling = _sampling(body, 256)
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return _sse(self._stream(rid, "chat.completion.chunk", messages, sampling, usage, chat=True))
        try:
            answer = await self._generate(messages, sampling)
        except Exception as exc:
            return _error(500, f"{type(exc).__name__}: {exc}", "server_error")
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": reason}
                   for i, (text, reason) in enumerate(zip(answer.texts, answer.finish_reasons))]
        return self._response(rid, "chat.completion", choices, [answer])

    def _response(self, rid: str, kind: str, choices: list[dict[str, Any]], answers) -> dict[str, Any]:
        prompt_tokens = sum(a.prompt_tokens for a in answers)
        completion_tokens = sum(a.completion_tokens for a in answers)
        return {"id": rid, "object": kind, "created": int(time.time()), "model": self.model_id, "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens}}

    async def _stream(self, rid: str, kind: str, prompt: Any, sampling: Sampling, usage: bool,
                      chat: bool) -> AsyncIterator[str]:
        created = int(time.time())

        def event(choice: dict[str, Any] | None, extra: dict[str, Any] | None = None) -> str:
            payload = {"id": rid, "object": kind, "created": created, "model": self.model_id,
                       "choices": [choice] if choice else [], **(extra or {})}
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        if chat:
            yield event({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
        pieces = self.engine.stream(prompt, sampling)
        text = ""
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            text += piece
            delta = {"delta": {"content": piece}} if chat else {"text": piece, "logprobs": None}
            yield event({"index": 0, **delta, "finish_reason": None})
        completion_tokens = self.engine.count_tokens(text)
        reason = "length" if completion_tokens >= sampling.max_tokens else "stop"
        yield event({"index": 0, **({"delta": {}} if chat else {"text": ""}), "finish_reason": reason})
        if usage:
            prompt_tokens = self.engine.prompt_tokens(prompt)
            yield event(None, {"usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                         "total_tokens": prompt_tokens + completion_tokens}})
        yield "data: [DONE]\n\n"


def build_hf_app(spec: ModelSpec, model_id: str, app_name: str):
    """The bound Serve application for ``spec`` (replicas or autoscaling, per-replica resources)."""
    options: dict[str, Any] = {
        "name": f"{app_name}-hf",
        "max_ongoing_requests": spec.serving.max_ongoing_requests,
        "ray_actor_options": _actor_options(spec),
        "health_check_period_s": 5,
        **replica_settings(spec),
    }
    return OpenAIServer.options(**options).bind(spec.model_dump_json(), model_id)


def _actor_options(spec: ModelSpec) -> dict[str, Any]:
    resources = spec.resources
    options: dict[str, Any] = {"num_cpus": resources.num_cpus}
    if resources.num_gpus:
        options["num_gpus"] = resources.num_gpus
    if resources.memory_gb:
        options["memory"] = int(resources.memory_gb * 1024**3)
    if resources.accelerator_type:
        options["accelerator_type"] = resources.accelerator_type
    return options
