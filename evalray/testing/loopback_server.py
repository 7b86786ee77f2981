"""The common part of evalray's in-process test servers: an aiohttp app on 127.0.0.1 in a background thread.

A subclass adds its routes in :meth:`LoopbackServer.routes`; ``with Server(...) as server:`` serves on
``server.url`` (``http://127.0.0.1:PORT/v1``) until the block ends. The listening socket is created (and held) in
the constructor, so no other process can take the port between choosing it and serving.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from aiohttp import web


class LoopbackServer:
    model = "test-model"

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True, name=type(self).__name__)
        self._started = threading.Event()

    def routes(self, app: web.Application) -> None:
        """Add the server's routes (``GET /v1/models`` is there already)."""

    def __enter__(self):
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._socket.close()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        self.routes(app)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, self._socket).start())
        self._started.set()
        self._loop.run_forever()

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.model, "object": "model"}]})
