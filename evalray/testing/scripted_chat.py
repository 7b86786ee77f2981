"""A scripted OpenAI-style chat server on 127.0.0.1: ``POST /v1/chat/completions`` answers the last user message with
``reply(prompt)``; a reply of None is an HTTP 500 (a failed judge call). Every prompt is recorded in ``prompts``."""

from __future__ import annotations

from typing import Callable

from aiohttp import web

from evalray.testing.loopback_server import LoopbackServer


class ScriptedChat(LoopbackServer):
    def __init__(self, reply: Callable[[str], str | None]) -> None:
        super().__init__()
        self.reply = reply
        self.prompts: list[str] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        self.prompts.append(prompt)
        text = self.reply(prompt)
        if text is None:
            return web.json_response({"error": {"message": "scripted failure"}}, status=500)
        return web.json_response({"id": "x", "object": "chat.completion", "model": body.get("model"),
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": text}}]})
