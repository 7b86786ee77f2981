"""An OpenAI-compatible chat server (in a thread, on 127.0.0.1) that answers chosen prompts with a body of the wrong
shape: JSON ``null``, ``[]``, an empty body, ``{"choices": [null]}``, an HTML error page, truncated JSON and a few
more, all with status 200. Every other prompt gets the answer ``answer(prompt)`` in a well-formed completion.

``with WrongShapeServer(answer, is_bad) as server:`` -- ``is_bad(prompt)`` picks the prompts that get a bad body (the
same one on every retry, cycling through :data:`BAD_BODIES` in the order the prompts are first seen);
``server.bad_prompts`` maps each such prompt to the name of the body it got. ``error_for(prompt)`` may instead give
an error status and body (e.g. a 401 that echoes the API key, as some servers do). ``server.auth_headers`` holds the
Authorization headers received.
"""

from __future__ import annotations

from typing import Callable, Optional

from aiohttp import web

from evalray.testing.loopback_server import LoopbackServer

BAD_BODIES: dict[str, tuple[str, bytes]] = {
    "null": ("application/json", b"null"),
    "empty list": ("application/json", b"[]"),
    "empty body": ("application/json", b""),
    "choices [null]": ("application/json", b'{"choices": [null]}'),
    "html error page": ("text/html", b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
    "truncated json": ("application/json", b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assist'),
    "choices not a list": ("application/json", b'{"choices": {"0": {"message": {"content": "4"}}}}'),
    "content a number": ("application/json", b'{"choices": [{"message": {"role": "assistant", "content": 42}}]}'),
    "message a string": ("application/json", b'{"choices": [{"message": "ANSWER: 4"}]}'),
    "empty choices": ("application/json", b'{"choices": []}'),
    "string": ("application/json", b'"ANSWER: 4"'),
}


class WrongShapeServer(LoopbackServer):
    def __init__(self, answer: Callable[[str], str], is_bad: Callable[[str], bool], model: str = "shape-model",
                 error_for: Optional[Callable[[str], Optional[tuple[int, bytes]]]] = None) -> None:
        super().__init__()
        self.answer, self.is_bad, self.model, self.error_for = answer, is_bad, model, error_for
        self.auth_headers: set[str] = set()
        self.bad_prompts: dict[str, str] = {}
        self.requests = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)

    def bad_body_for(self, prompt: str) -> str | None:
        """The name of the bad body this prompt gets, or None for a good answer."""
        if prompt in self.bad_prompts:
            return self.bad_prompts[prompt]
        if not self.is_bad(prompt):
            return None
        names = list(BAD_BODIES)
        self.bad_prompts[prompt] = names[len(self.bad_prompts) % len(names)]
        return self.bad_prompts[prompt]

    async def _chat(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.auth_headers.add(request.headers.get("Authorization", ""))
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        error = self.error_for(prompt) if self.error_for else None
        if error is not None:
            return web.Response(body=error[1], status=error[0], headers={"Content-Type": "application/json"})
        bad = self.bad_body_for(prompt)
        if bad is not None:
            content_type, payload = BAD_BODIES[bad]
            return web.Response(body=payload, status=200, headers={"Content-Type": content_type})
        message = {"role": "assistant", "content": self.answer(prompt)}
        return web.json_response({"choices": [{"index": 0, "message": message}] * body.get("n", 1)})
