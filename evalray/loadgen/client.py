"""The hot path: a lean HTTP/1.1 keep-alive client over ``asyncio.Protocol`` with an inline SSE reader.

One :class:`HttpConnection` carries one request at a time. ``data_received`` takes a single ``perf_counter`` timestamp
per socket read and stamps every SSE event found in it; per event it only looks for the content key with
``bytes.find`` (no JSON parsing) and parses JSON only for the one event that carries ``usage``. A chunk is an SSE event
whose ``content`` (chat) or ``text`` (completions) is a non-empty string; role-only, empty and usage-only events are not
chunks. Bodies framed by ``Content-Length``, chunked transfer encoding or connection close are all handled.
"""

from __future__ import annotations

import asyncio
import json
from time import perf_counter
from typing import Any, Callable

HEAD, BODY_LENGTH, BODY_CHUNKED, BODY_CLOSE, DONE = range(5)
_EMPTY_PREFIXES = (b'""', b"null")


class RequestState:
    """One request in flight; its fields become one raw record."""

    __slots__ = ("request_id", "intended", "actual", "end", "status", "error", "prompt_tokens", "completion_tokens",
                 "chunk_times", "warmup", "body", "finished", "started")

    def __init__(self, request_id: int, intended: float, prompt_tokens: int, warmup: bool) -> None:
        self.request_id = request_id
        self.intended = intended
        self.actual = 0.0
        self.end = 0.0
        self.status = 0
        self.error: str | None = None
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = -1
        self.chunk_times: list[float] = []
        self.warmup = warmup
        self.body: list[bytes] = []
        self.finished = False
        self.started = -1.0  # when connecting (or sending on a pooled connection) began: the timeout runs from here


class HttpConnection(asyncio.Protocol):
    """A keep-alive connection; calls ``on_done(state, connection, reusable)`` once per finished request."""

    def __init__(self, on_done: Callable[[RequestState, "HttpConnection", bool], None], clock_zero: float,
                 stream: bool, chat: bool, keep_events: bool = False,
                 on_idle_lost: Callable[["HttpConnection"], None] | None = None) -> None:
        self.on_done = on_done
        self.on_idle_lost = on_idle_lost  # the server closed this connection while it was idle in the pool
        self.keep_events = keep_events  # keep the answer's text (a tokenizer count, the next turn of a session)
        self.clock_zero = clock_zero
        self.stream = stream
        self.content_key = b'"content":' if chat else b'"text":'
        self.transport: asyncio.Transport | None = None
        self.state: RequestState | None = None
        self._reset()

    def _reset(self) -> None:
        self.phase = HEAD
        self.buffer = b""
        self.remaining = 0
        self.keep_alive = True
        self.sse = b""
        self.saw_body = False

    # ---- asyncio callbacks ----------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        state = self.state
        if state is None or state.finished:
            if self.on_idle_lost is not None:
                self.on_idle_lost(self)
            return
        if self.phase == BODY_CLOSE:
            self._complete(perf_counter())
            return
        self._fail("truncated" if self.saw_body or self.phase != HEAD else "connection_closed")

    def data_received(self, data: bytes) -> None:
        now = perf_counter()
        if self.state is None or self.state.finished:
            return
        if self.phase == HEAD:
            data = self._read_head(self.buffer + data)
            if self.phase == HEAD or self.state.finished:
                return
        if data:
            self._read_body(data, now)

    # ---- sending --------------------------------------------------------------------------------------------------
    def send(self, state: RequestState, payload: bytes) -> None:
        self.state = state
        self._reset()
        state.actual = perf_counter() - self.clock_zero
        assert self.transport is not None
        self.transport.write(payload)

    def abort(self, error: str) -> None:
        """Fail the request in flight (timeout, stop) and drop the connection."""
        self._fail(error)
        if self.transport is not None:
            self.transport.abort()

    # ---- parsing --------------------------------------------------------------------------------------------------
    def _read_head(self, data: bytes) -> bytes:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = data
            return b""
        self.buffer = b""
        lines = data[:end].split(b"\r\n")
        state = self.state
        assert state is not None
        try:
            state.status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            self.abort("protocol_error")
            return b""
        chunked, length, keep_alive = False, -1, not lines[0].startswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep_alive = value.strip().lower() != b"close"
        self.keep_alive = keep_alive
        if chunked:
            self.phase = BODY_CHUNKED
            self.remaining = -1
        elif length >= 0:
            self.phase = BODY_LENGTH
            self.remaining = length
            if length == 0:
                self._complete(perf_counter())
        else:
            self.phase = BODY_CLOSE
            self.keep_alive = False
        return data[end + 4:]

    def _read_body(self, data: bytes, now: float) -> None:
        self.saw_body = True
        if self.phase == BODY_LENGTH:
            take = data[: self.remaining]
            self.remaining -= len(take)
            self._payload(take, now)
            if self.remaining == 0:
                self._complete(now)
        elif self.phase == BODY_CHUNKED:
            self._read_chunked(data, now)
        elif self.phase == BODY_CLOSE:
            self._payload(data, now)

    def _read_chunked(self, data: bytes, now: float) -> None:
        buffer = self.buffer + data if self.buffer else data
        pos, size = 0, len(buffer)
        while pos < size:
            if self.remaining > 0:  # inside a chunk's data
                take = buffer[pos: pos + self.remaining]
                self.remaining -= len(take)
                pos += len(take)
                self._payload(take, now)
                continue
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                break
            if self.remaining == 0:  # the CRLF after a chunk's data
                pos = line_end + 2
                self.remaining = -1
                continue
            try:
                chunk_size = int(buffer[pos:line_end].split(b";", 1)[0], 16)
            except ValueError:
                self.abort("protocol_error")
                return
            pos = line_end + 2
            if chunk_size == 0:
                self.buffer = b""
                self._complete(now)
                return
            self.remaining = chunk_size
        self.buffer = buffer[pos:]

    def _payload(self, data: bytes, now: float) -> None:
        state = self.state
        assert state is not None
        if not self.stream or state.status != 200:
            state.body.append(data)
            return
        sse = self.sse + data if self.sse else data
        start = 0
        while True:
            end = sse.find(b"\n\n", start)
            if end < 0:
                break
            self._event(sse[start:end], state, now)
            start = end + 2
        self.sse = sse[start:] if start < len(sse) else b""

    def _event(self, event: bytes, state: RequestState, now: float) -> None:
        if b"\r" in event:
            event = event.replace(b"\r", b"")
        if not event.startswith(b"data:"):
            event = b"\n".join(line for line in event.split(b"\n") if line.startswith(b"data:"))
            if not event:
                return
        payload = event[5:].lstrip()
        if payload.startswith(b"[DONE]"):
            return
        key = payload.find(self.content_key)
        if key >= 0:
            value = payload[key + len(self.content_key): key + len(self.content_key) + 6].lstrip()
            if not value.startswith(_EMPTY_PREFIXES):
                state.chunk_times.append(now - self.clock_zero)
                if self.keep_events:
                    state.body.append(payload)
        usage = payload.find(b'"usage"')
        if usage >= 0 and not payload[usage + 7: usage + 16].lstrip(b": ").startswith(b"null"):
            _read_usage(payload, state)
        elif key < 0 and payload.find(b'"error"') >= 0:
            state.error = "stream_error"

    # ---- finishing ------------------------------------------------------------------------------------------------
    def _complete(self, now: float) -> None:
        state = self.state
        assert state is not None
        state.end = now - self.clock_zero
        self.phase = DONE
        if state.status != 200:
            state.error = f"http_{state.status}"
        elif not self.stream:
            _read_whole_body(state, self.keep_events)
        self._finish(state, self.keep_alive)

    def _fail(self, error: str) -> None:
        state = self.state
        if state is None or state.finished:
            return
        state.end = perf_counter() - self.clock_zero
        state.error = error
        self._finish(state, False)

    def _finish(self, state: RequestState, reusable: bool) -> None:
        state.finished = True
        self.state = None
        self.on_done(state, self, reusable and self.transport is not None)


def _read_usage(payload: bytes, state: RequestState) -> None:
    try:
        usage = json.loads(payload).get("usage") or {}
    except ValueError:
        return
    if isinstance(usage.get("completion_tokens"), int):
        state.completion_tokens = usage["completion_tokens"]
    if isinstance(usage.get("prompt_tokens"), int):
        state.prompt_tokens = usage["prompt_tokens"]


def _read_whole_body(state: RequestState, keep: bool = False) -> None:
    try:
        body: dict[str, Any] = json.loads(b"".join(state.body))
    except ValueError:
        state.error = "invalid_json"
        return
    usage = body.get("usage") or {}
    if isinstance(usage.get("completion_tokens"), int):
        state.completion_tokens = usage["completion_tokens"]
    if isinstance(usage.get("prompt_tokens"), int):
        state.prompt_tokens = usage["prompt_tokens"]
    if state.completion_tokens < 0 or keep:
        state.body = [json.dumps(body.get("choices") or []).encode()]
    else:
        state.body = []


def answer_text(state: RequestState, stream: bool) -> str:
    """The generated text of a finished request whose server sent no usage (for tokenizer counts): from the kept
    content events of a stream, or from the choices of a whole answer."""
    if stream:
        parts = []
        for payload in state.body:
            try:
                choice = (json.loads(payload).get("choices") or [{}])[0]
            except ValueError:
                continue
            parts.append(str((choice.get("delta") or {}).get("content") or choice.get("text") or ""))
        return "".join(parts)
    try:
        choices = json.loads(b"".join(state.body))
    except ValueError:
        return ""
    first = choices[0] if choices else {}
    return str((first.get("message") or {}).get("content") or first.get("text") or "")
