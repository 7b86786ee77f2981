"""A scripted OpenAI-compatible server for judge tests, on 127.0.0.1 in a background thread.

``reply(messages) -> str | int``: the chat answer to the request's messages, or an HTTP status to fail with (every
attempt fails the same way, so a 500 stays a 500 after the client's retries). ``logprob(prompt, continuation) ->
float``: the log-probability ``/v1/completions`` with ``echo`` + ``logprobs`` gives the continuation (one token), as
a log-prob judge needs. ``latency_s`` delays every answer (the throughput benchmark's mock judge). Every request is
recorded with its arrival time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from aiohttp import web

from evalray.testing.loopback_server import LoopbackServer

Reply = Callable[[list], "str | int"]


class ScriptedServer(LoopbackServer):
    """``with ScriptedServer(reply) as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, reply: Reply, logprob: Callable[[str, str], float] | None = None, latency_s: float = 0.0,
                 model: str = "scripted-judge") -> None:
        super().__init__()
        self.reply, self.logprob, self.latency_s, self.model = reply, logprob, latency_s, model
        self.requests: list[tuple[float, dict]] = []  # (arrival time, body)
        self._lock = threading.Lock()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)

    async def _record(self, request: web.Request) -> dict:
        body = await request.json()
        with self._lock:
            self.requests.append((time.time(), body))
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return body

    async def _chat(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        answer = self.reply(body["messages"])
        if isinstance(answer, int):
            return web.json_response({"error": f"scripted {answer}"}, status=answer)
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": answer}}]})

    async def _completions(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        prompt = body["prompt"]
        if not body.get("echo") or self.logprob is None:
            answer = self.reply([{"role": "user", "content": prompt}])
            if isinstance(answer, int):
                return web.json_response({"error": f"scripted {answer}"}, status=answer)
            return web.json_response({"choices": [{"text": answer}]})
        # the continuation is the last character (the judges' one-token answers m / M)
        context, continuation = prompt[:-1], prompt[-1:]
        value = self.logprob(context, continuation)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return web.json_response({"error": f"scripted {value}"}, status=value)
        logprobs = {"tokens": [context, continuation], "text_offset": [0, len(context)],
                    "token_logprobs": [None, float(value)], "top_logprobs": [None, {continuation: float(value)}]}
        return web.json_response({"choices": [{"text": prompt + "!", "logprobs": logprobs}]})

    def judged_texts(self) -> list[str]:
        """The last user message of every chat request received."""
        return [body["messages"][-1]["content"] for _, body in self.requests if "messages" in body]
