"""A small OpenAI-compatible server for tests, on 127.0.0.1 in a background thread.

Completions and chat answer with a fixed text per prompt (a callable), ``echo`` + ``logprobs`` give one token per
character with log-prob ``char_logprob(c)``. It can fail the first N requests with 429 to exercise retries, and it
records the Authorization headers it saw.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from aiohttp import web

from evalray.testing.loopback_server import LoopbackServer


def char_logprob(c: str) -> float:
    """The log-prob the server gives character ``c`` (tests compute expected log-likelihoods with it)."""
    return -0.1 * (ord(c) % 7 + 1)


class FakeOpenAI(LoopbackServer):
    """``with FakeOpenAI(answer) as server:`` serves on ``server.url`` until the block ends."""

    def __init__(self, answer: Callable[[str], str], fail_first: int = 0, model: str = "fake-model",
                 delay_s: float = 0.0) -> None:
        super().__init__()
        self.answer, self.fail_first, self.model, self.delay_s = answer, fail_first, model, delay_s
        self.requests = 0
        self.bodies: list[dict] = []  # every JSON body received, in arrival order
        self.arrivals: list[float] = []  # time.time() of each body's arrival (same order)
        self.auth_headers: set[str] = set()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_post("/v1/chat/completions", self._chat)

    def _count(self, request: web.Request) -> web.Response | None:
        self.requests += 1
        self.auth_headers.add(request.headers.get("Authorization", ""))
        if self.requests <= self.fail_first:
            return web.json_response({"error": "slow down"}, status=429)
        return None

    def _record(self, body: dict) -> None:
        self.bodies.append(body)
        self.arrivals.append(time.time())

    async def _receive(self, request: web.Request) -> dict | web.Response:
        """The request's JSON body (counted, recorded, after the injected delay), or the injected 429."""
        refused = self._count(request)
        if refused:
            return refused
        body = await request.json()
        self._record(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return body

    async def _completions(self, request: web.Request) -> web.Response:
        body = await self._receive(request)
        if isinstance(body, web.Response):
            return body
        prompt = body["prompt"]
        if body.get("echo"):
            tokens = list(prompt) + ["!"]
            offsets = list(range(len(prompt))) + [len(prompt)]
            values = [None] + [char_logprob(c) for c in prompt[1:]] + [-1.0]
            tops = [None] + [{c: char_logprob(c)} for c in prompt[1:]] + [{"!": -1.0}]
            logprobs = {"tokens": tokens, "text_offset": offsets, "token_logprobs": values, "top_logprobs": tops}
            return web.json_response({"choices": [{"text": prompt + "!", "logprobs": logprobs}]})
        return web.json_response({"choices": [{"text": self.answer(prompt)}] * body.get("n", 1)})

    async def _chat(self, request: web.Request) -> web.Response:
        body = await self._receive(request)
        if isinstance(body, web.Response):
            return body
        text = self.answer(body["messages"][-1]["content"])
        return web.json_response({"choices": [{"message": {"role": "assistant", "content": text}}] * body.get("n", 1)})
