"""The server behind ``evalray mock-server``: an OpenAI-compatible HTTP/1.1 test server with injected timing and errors.

Serves ``POST /v1/chat/completions`` and ``POST /v1/completions`` (streaming over chunked SSE, or one JSON body) and
``GET /v1/models``. Every answer is ``output_tokens`` (default: the request's ``max_tokens``) copies of the one-token
word ``tok`` (with ``unique_answers``, the first word is ``a<N>`` instead, N the server's request count, so every
answer differs; ``answers_file`` / ``degrade_above_rate`` script them: :mod:`evalray.testing.mock_answers`);
``usage`` counts prompt tokens as whitespace-separated words. Timing is absolute per request: chunk ``j``
(carrying ``tokens_per_chunk`` tokens) is written at ``arrival + ttft + (last token of j) * tpot``, so the first token
of a one-token-per-chunk stream arrives exactly ``ttft`` after the request and every later token ``tpot`` after the
previous one. Error injection draws once per request: an HTTP error status, a timeout (no answer, the connection is
closed after ``hang_s``), or a truncated stream (the connection is cut after half of the tokens).

With ``record_requests = N`` (at most :data:`MAX_RECORDED`) the last N completion requests are kept — their JSON body
(bodies over 1 MiB as ``null``) and the answer text the server sent — and served by ``GET /debug/requests`` (tests
read what the server received); the server listens on 127.0.0.1 unless told otherwise. ``GET /metrics`` serves
vLLM-named Prometheus metrics of what it is doing (:mod:`evalray.testing.mockserver_metrics`).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import socket
import time
from time import perf_counter
from dataclasses import dataclass, field
from typing import Any, Callable

from evalray.loadgen.eventloop import new_event_loop, raise_open_files_limit
from evalray.testing.mock_answers import RateWindow, load_answers, pieces, request_key
from evalray.testing.mockserver_metrics import MockMetrics

MAX_RECORDED = 100_000
MAX_RECORDED_BODY = 1 << 20
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class MockServerSpec:
    """How the mock server behaves. Times are in seconds; rates are fractions of requests."""

    host: str = "127.0.0.1"
    port: int = 8000
    model: str = "mock"
    ttft_s: float = 0.0
    tpot_s: float = 0.0
    output_tokens: int | None = None
    tokens_per_chunk: int = 1
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500,)
    timeout_rate: float = 0.0
    truncate_rate: float = 0.0
    hang_s: float = 30.0
    seed: int = 0
    default_max_tokens: int = 16
    lifetime_s: float | None = None
    processes: int = 1
    child: bool = False
    record_requests: int = 0
    unique_answers: bool = False
    answers_file: str | None = None
    degrade_above_rate: float | None = None
    degraded_answer: str = "I do not know."
    kv_slots: int = 256
    stats: dict[str, int] = field(default_factory=lambda: {"requests": 0})


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class _Events:
    """Pre-rendered SSE events (already framed as HTTP chunks) for one endpoint kind."""

    def __init__(self, model: str, chat: bool, tokens_per_chunk: int) -> None:
        self.chat = chat
        self.model = model
        self.tokens_per_chunk = tokens_per_chunk
        self._cache: dict[tuple[int, bool, bool], bytes] = {}

    def token_event(self, tokens: int, first: bool, last: bool, text: str | None = None) -> bytes:
        key = (tokens, first, last)
        cached = self._cache.get(key) if text is None else None
        if cached is None:
            scripted = text is not None
            text = text if text is not None else "tok " * tokens
            finish = "length" if last else None
            if self.chat:
                delta: dict[str, Any] = {"role": "assistant", "content": text} if first else {"content": text}
                choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
                obj = "chat.completion.chunk"
            else:
                choice = {"index": 0, "text": text, "finish_reason": finish}
                obj = "text_completion"
            body = {"id": "cmpl-mock", "object": obj, "created": 0, "model": self.model, "choices": [choice]}
            cached = _chunked(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")
            if not scripted:
                self._cache[key] = cached
        return cached

    def usage_event(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        obj = "chat.completion.chunk" if self.chat else "text_completion"
        usage = _usage(prompt_tokens, completion_tokens)
        body = {"id": "cmpl-mock", "object": obj, "created": 0, "model": self.model, "choices": [], "usage": usage}
        return _chunked(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n")

    def full_body(self, prompt_tokens: int, completion_tokens: int, text: str | None = None) -> bytes:
        text = text if text is not None else "tok " * completion_tokens
        if self.chat:
            choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": "length"}
            obj = "text_completion"
        body = {"id": "cmpl-mock", "object": obj, "created": 0, "model": self.model, "choices": [choice],
                "usage": _usage(prompt_tokens, completion_tokens)}
        return json.dumps(body, separators=(",", ":")).encode()


def _chunk_text(words: list[str] | None, index: int, per_chunk: int, size: int) -> str | None:
    """The text of chunk ``index`` of a scripted answer (None: the default ``tok`` words)."""
    if words is None:
        return None
    return "".join(words[index * per_chunk: index * per_chunk + size])


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


_DONE = _chunked(b"data: [DONE]\n\n") + b"0\r\n\r\n"
_STREAM_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")


def _json_response(status: int, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


def _prompt_tokens(request: dict[str, Any]) -> int:
    if "messages" in request:
        return sum(len(str(m.get("content", "")).split()) for m in request["messages"])
    prompt = request.get("prompt", "")
    return len(prompt.split()) if isinstance(prompt, str) else len(prompt)


class MockServer:
    """Shared state of one server: spec, pre-rendered events, the error-injection random stream."""

    def __init__(self, spec: MockServerSpec) -> None:
        self.spec = spec
        self.random = random.Random(spec.seed)
        self.events = {True: _Events(spec.model, True, spec.tokens_per_chunk),
                       False: _Events(spec.model, False, spec.tokens_per_chunk)}
        models = {"object": "list", "data": [{"id": spec.model, "object": "model", "owned_by": "evalray"}]}
        self.models_response = _json_response(200, json.dumps(models).encode())
        self.recorded: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=max(0, min(spec.record_requests, MAX_RECORDED)))
        self.answered = 0
        self.answers = load_answers(spec.answers_file)
        self.window = RateWindow() if spec.degrade_above_rate is not None else None
        self.metrics = MockMetrics(spec.model, spec.kv_slots)

    def scripted(self, request: dict[str, Any], tokens: int) -> list[str] | None:
        """The answer's one-token pieces when it is not the default ``tok`` words: the degraded answer (above the
        rate), the scripted answer of this prompt, or ``a<N>`` first (unique answers)."""
        spec = self.spec
        if self.window is not None and self.window.arrive() > (spec.degrade_above_rate or 0):
            return pieces(spec.degraded_answer)
        if self.answers:
            answer = self.answers.get(request_key(request))
            if answer is not None:
                return pieces(answer)
        if spec.unique_answers:
            return [f"a{self.answered} "] + ["tok "] * (tokens - 1) if tokens > 0 else []
        return None

    def record(self, request: dict[str, Any] | None, size: int, path: str, answer: str) -> None:
        if self.recorded.maxlen:
            self.recorded.append({"seq": self.answered, "path": path, "answer": answer,
                                  "body": request if size <= MAX_RECORDED_BODY else None})

    def draw_fault(self) -> str | None:
        spec = self.spec
        if not (spec.error_rate or spec.timeout_rate or spec.truncate_rate):
            return None
        u = self.random.random()
        if u < spec.error_rate:
            return "status"
        if u < spec.error_rate + spec.timeout_rate:
            return "timeout"
        if u < spec.error_rate + spec.timeout_rate + spec.truncate_rate:
            return "truncate"
        return None


class _MockProtocol(asyncio.Protocol):
    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.buffer = b""
        self.busy = False
        self.transport: asyncio.Transport | None = None
        self.timers: list[asyncio.TimerHandle] = []
        self.active: tuple[bool, int, int] | None = None  # the answer under way: (complete, prompt, output tokens)

    def _release(self) -> None:
        if self.active is not None:
            self.server.metrics.finished(*self.active)
            self.active = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next_request()

    def _next_request(self) -> None:
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = buffer[:end].decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(buffer) < end + 4 + length:
            return
        body = buffer[end + 4: end + 4 + length]
        self.buffer = buffer[end + 4 + length:]
        self.server.spec.stats["requests"] += 1
        self._handle(method, path.split("?")[0], body)

    def _at(self, due: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` at ``perf_counter() == due``, never early: loop timers (uvloop's are millisecond
        based on a cached clock) may fire up to a millisecond early, so an early timer is re-armed."""
        loop = asyncio.get_running_loop()
        delay = due - perf_counter()
        if delay <= 0.00002:
            callback()
            return
        self.timers.append(loop.call_later(delay, self._at, due, callback))

    def _finish(self) -> None:
        self._release()
        self.busy = False
        self.timers.clear()
        if self.buffer and self.transport is not None:
            self._next_request()

    def _handle(self, method: str, path: str, body: bytes) -> None:
        transport = self.transport
        assert transport is not None
        if method == "GET" and path in ("/v1/models", "/models"):
            transport.write(self.server.models_response)
            return
        if method == "GET" and path in ("/health", "/v1/health"):
            transport.write(_json_response(200, b"{}"))
            return
        if method == "GET" and path == "/metrics":
            page = self.server.metrics.render()
            transport.write((f"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                             f"Content-Length: {len(page)}\r\n\r\n").encode() + page)
            return
        if method == "GET" and path == "/debug/requests":
            recorded = {"requests": list(self.server.recorded)}
            transport.write(_json_response(200, json.dumps(recorded).encode()))
            return
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/completions"):
            transport.write(_json_response(404, b'{"error":{"message":"not found"}}'))
            return
        try:
            request = json.loads(body)
        except ValueError:
            transport.write(_json_response(400, b'{"error":{"message":"invalid JSON body"}}'))
            return
        self._answer(request, chat=path.endswith("chat/completions"), size=len(body), path=path)

    def _answer(self, request: dict[str, Any], chat: bool, size: int = 0, path: str = "") -> None:
        server, spec = self.server, self.server.spec
        transport = self.transport
        assert transport is not None
        fault = server.draw_fault()
        if fault == "status":
            status = server.random.choice(spec.error_statuses)
            transport.write(_json_response(status, b'{"error":{"message":"injected error"}}'))
            return
        loop = asyncio.get_running_loop()
        self.busy = True
        if fault == "timeout":
            self.timers.append(loop.call_later(spec.hang_s, transport.close))
            return
        tokens = spec.output_tokens or int(request.get("max_tokens") or request.get("max_completion_tokens")
                                           or spec.default_max_tokens)
        prompt_tokens = _prompt_tokens(request)
        events = server.events[chat]
        server.answered += 1
        words = server.scripted(request, tokens)
        tokens = len(words) if words is not None else tokens
        server.record(request, size, path, "".join(words) if words is not None else "tok " * tokens)
        server.metrics.started(request)
        self.active = (fault != "truncate", prompt_tokens, tokens)
        if not request.get("stream"):
            self._answer_whole(events, prompt_tokens, tokens, fault == "truncate", loop, words)
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        self._answer_stream(events, prompt_tokens, tokens, include_usage, fault == "truncate", loop, words)

    def _answer_whole(self, events: _Events, prompt_tokens: int, tokens: int, truncate: bool,
                      loop: asyncio.AbstractEventLoop, words: list[str] | None = None) -> None:
        spec = self.server.spec
        text = "".join(words) if words is not None else None
        payload = _json_response(200, events.full_body(prompt_tokens, tokens, text))
        if truncate:
            payload = payload[: len(payload) // 2]
        delay = spec.ttft_s + max(tokens - 1, 0) * spec.tpot_s

        def send() -> None:
            if self.transport is None:
                return
            self.transport.write(payload)
            if truncate:
                self.transport.close()
            self._finish()

        if delay > 0:
            self._at(perf_counter() + delay, send)
        else:
            send()

    def _answer_stream(self, events: _Events, prompt_tokens: int, tokens: int, include_usage: bool, truncate: bool,
                       loop: asyncio.AbstractEventLoop, words: list[str] | None = None) -> None:
        spec = self.server.spec
        per_chunk = max(1, spec.tokens_per_chunk)
        sizes = [min(per_chunk, tokens - start) for start in range(0, tokens, per_chunk)]
        cut = len(sizes) // 2 if truncate else None
        tail = (events.usage_event(prompt_tokens, tokens) if include_usage else b"") + _DONE
        transport = self.transport
        assert transport is not None
        if spec.ttft_s <= 0 and spec.tpot_s <= 0:
            parts = [events.token_event(n, i == 0, i == len(sizes) - 1, _chunk_text(words, i, per_chunk, n))
                     for i, n in enumerate(sizes[:cut])]
            transport.write(_STREAM_HEAD + b"".join(parts) + (b"" if truncate else tail))
            if truncate:
                transport.close()
            self._finish()
            return
        transport.write(_STREAM_HEAD)
        arrival = perf_counter()
        state = {"index": 0, "sent_tokens": 0}

        def send_next() -> None:
            if self.transport is None:
                return
            i = state["index"]
            if cut is not None and i >= cut:
                self.transport.close()
                return
            n = sizes[i]
            state["index"] = i + 1
            state["sent_tokens"] += n
            last = i == len(sizes) - 1
            event = events.token_event(n, i == 0, last, _chunk_text(words, i, per_chunk, n))
            self.transport.write(event + (tail if last else b""))
            if last:
                self._finish()
                return
            due = arrival + spec.ttft_s + (state["sent_tokens"] + sizes[i + 1] - 1) * spec.tpot_s
            self._at(due, send_next)

        if not sizes:
            transport.write(tail)
            self._finish()
            return
        self._at(arrival + spec.ttft_s + (sizes[0] - 1) * spec.tpot_s, send_next)


async def serve(spec: MockServerSpec, on_ready: Callable[[str], None] | None = None,
                stop: asyncio.Event | None = None, sock: socket.socket | None = None) -> None:
    """Serve until ``stop`` is set, ``spec.lifetime_s`` has passed or (in a child process) the parent is gone."""
    loop = asyncio.get_running_loop()
    server_state = MockServer(spec)
    factory = lambda: _MockProtocol(server_state)  # noqa: E731
    if sock is not None:
        server = await loop.create_server(factory, sock=sock, backlog=4096)
    else:
        server = await loop.create_server(factory, spec.host, spec.port, backlog=4096, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if on_ready:
        on_ready(f"http://{spec.host}:{port}/v1")
    stop = stop or asyncio.Event()
    started, parent = time.monotonic(), os.getppid()
    try:
        while not stop.is_set():
            if spec.lifetime_s is not None and time.monotonic() - started >= spec.lifetime_s:
                break
            if spec.child and os.getppid() != parent:
                break
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.2)
            except asyncio.TimeoutError:
                pass
    finally:
        server.close()


def _serve_in_this_process(spec: MockServerSpec, on_ready: Callable[[str], None] | None,
                           sock: socket.socket | None) -> None:
    import gc

    raise_open_files_limit()
    loop = new_event_loop()
    gc.freeze()  # no collector pauses in the middle of timed answers
    gc.set_threshold(200_000, 100, 100)
    try:
        loop.run_until_complete(serve(spec, on_ready, sock=sock))
    finally:
        loop.close()


def run_mock_server(spec: MockServerSpec, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the server on a fresh (uv)loop until interrupted or its lifetime ends. With ``spec.processes > 1`` that
    many forked processes listen on the same port (each has its own open-files limit and can use its own core)."""
    if spec.processes <= 1:
        _serve_in_this_process(spec, on_ready, None)
        return
    import signal

    # one SO_REUSEPORT socket per process: the kernel spreads new connections evenly over them
    sock = socket.create_server((spec.host, spec.port), backlog=4096, reuse_port=True)
    port = sock.getsockname()[1]
    children = []
    for index in range(spec.processes - 1):
        pid = os.fork()
        if pid == 0:
            try:
                own = socket.create_server((spec.host, port), backlog=4096, reuse_port=True)
                child = MockServerSpec(**{**spec.__dict__, "child": True, "seed": spec.seed + index + 1})
                _serve_in_this_process(child, None, own)
            finally:
                os._exit(0)
        children.append(pid)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(0)))
    try:
        _serve_in_this_process(spec, on_ready, sock)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass
