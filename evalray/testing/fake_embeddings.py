"""A scripted OpenAI-style embeddings and rerank server on 127.0.0.1, for the embed job's openai backends.

``POST /v1/embeddings`` answers each input with a deterministic vector of ``dimensions`` floats derived from the text
(character-count features: texts sharing words get similar vectors); ``POST /v1/rerank`` scores each document by the
number of query words it contains. Every input it was sent is recorded in :attr:`FakeEmbeddings.received`; inputs
listed in ``fail_on`` get an HTTP 500.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from evalray.testing.loopback_server import LoopbackServer


def text_vector(text: str, dimensions: int = 16) -> list[float]:
    """Bag-of-words hashed into ``dimensions`` buckets (the same words -> the same direction)."""
    vector = [0.0] * dimensions
    for word in text.lower().split():
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % dimensions] += 1.0
    return vector


def overlap_score(query: str, document: str) -> float:
    words = set(document.lower().split())
    return float(sum(1 for w in set(query.lower().split()) if w in words))


class FakeEmbeddings(LoopbackServer):
    def __init__(self, dimensions: int = 16, fail_on: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.dimensions, self.fail_on = dimensions, set(fail_on)
        self.received: list[str] = []
        self.rerank_calls: list[dict] = []

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/rerank", self._rerank)

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.received.extend(inputs)
        if self.fail_on & set(inputs):
            return web.json_response({"error": {"message": "scripted failure"}}, status=500)
        data = [{"object": "embedding", "index": i, "embedding": text_vector(t, self.dimensions)}
                for i, t in enumerate(inputs)]
        return web.json_response({"object": "list", "data": list(reversed(data)), "model": body.get("model")})

    async def _rerank(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.rerank_calls.append(body)
        results = [{"index": i, "relevance_score": overlap_score(body["query"], d)}
                   for i, d in enumerate(body["documents"])]
        return web.json_response({"results": sorted(results, key=lambda r: -r["relevance_score"])})
