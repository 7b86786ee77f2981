"""The raw HTTP/SSE client in process: responses parsed at every split point, and the load engine against an
in-process server that closes idle connections (against the mock server in a subprocess:
tests/cli/test_loadgen_engine.py)."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np

from evalray.loadgen.client import HttpConnection, RequestState
from evalray.loadgen.engine import LoadEngine, WorkerSetup, WorkerSlice


STREAM = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
          + b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in [
              b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n',
              b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n',
              b'data: {"choices":[{"delta":{"content": " there"}}]}\n\ndata: {"choices":[{"delta":{"content":null}}]}\n\n',
              b'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n',
              b"data: [DONE]\n\n"]) + b"0\r\n\r\n")


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str):
        return None

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def _parse_in_pieces(response: bytes, cut: int, stream: bool = True) -> tuple[RequestState, bool]:
    done: list[tuple[RequestState, bool]] = []

    async def scenario() -> None:
        conn = HttpConnection(lambda state, c, reusable: done.append((state, reusable)), 0.0, stream, chat=True)
        conn.connection_made(_Transport())  # type: ignore[arg-type]
        conn.send(RequestState(1, 0.0, 5, False), b"")
        conn.data_received(response[:cut])
        conn.data_received(response[cut:])

    asyncio.run(scenario())
    assert len(done) == 1
    return done[0]


def test_chunked_sse_parses_at_every_split_point():
    for cut in range(1, len(STREAM)):
        state, reusable = _parse_in_pieces(STREAM, cut)
        assert state.error is None and state.status == 200 and reusable
        # role-only, empty and null deltas are not chunks; usage wins over the chunk count
        assert len(state.chunk_times) == 2, cut
        assert (state.prompt_tokens, state.completion_tokens) == (7, 3)


def test_error_status_and_non_streaming_body():
    body = b'{"error":{"message":"boom"}}'
    state, reusable = _parse_in_pieces(b"HTTP/1.1 503 Busy\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body), 20)
    assert state.error == "http_503" and reusable
    answer = json.dumps({"choices": [{"message": {"content": "a b"}}], "usage": {"prompt_tokens": 4,
                                                                                "completion_tokens": 2}}).encode()
    state, _ = _parse_in_pieces(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer), 30,
                                stream=False)
    assert state.error is None and state.completion_tokens == 2 and state.chunk_times == []


def test_connections_closed_by_the_server_while_idle_are_replaced():
    """A server with a 0.1 s keep-alive timeout: requests 0.3 s apart each need a new connection, none fails."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

    class ClosingServer(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            if b"\r\n\r\n" in data:
                self.transport.write(answer)
                asyncio.get_running_loop().call_later(0.1, self.transport.close)

    results: dict = {}

    def serve_and_run() -> None:
        async def main() -> None:
            server = await asyncio.get_running_loop().create_server(ClosingServer, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            setup = WorkerSetup(host="127.0.0.1", port=port, stream=False, chat=True, payloads=[b"GET / HTTP/1.1\r\n\r\n"],
                                prompt_tokens=[1], timeout_s=5, max_connections=10)
            work = WorkerSlice(worker=0, first_id=0, stride=1, count=4, intended=np.array([0.0, 0.3, 0.6, 0.9]))
            engine = LoadEngine(setup, work)
            summary = await asyncio.get_running_loop().run_in_executor(None, engine.run, time.time() + 0.1)
            results["table"], results["summary"] = engine.drain(), summary
            server.close()

        asyncio.run(main())

    serve_and_run()
    table = results["table"]
    assert table["error"].to_pylist() == [None] * 4
    assert results["summary"]["connections"] == 4
