"""One worker's load loop: a callback-driven scheduler over a pool of :class:`HttpConnection`.

No coroutine or future exists per request: an open-loop dispatcher timer fires every request whose intended send time
has come (reading the arrival times lazily), a starter timer starts closed-loop users as their start times come, a
closed-loop user sends its next request from the completion callback of the previous one, and a sweeper times out
requests every 50 ms. The timeout runs from the start of connecting (a connect is also bounded by it).

Memory is bounded by the requests in flight and recorded: at most ``max_connections`` are open and ``max_backlog``
(default: as many again, at least 65536) wait for a connection; open-loop arrivals beyond that are dropped and counted
(``dropped``), never queued, and requests still waiting when the duration ends are dropped too.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import gc
import socket
import sys
import threading
import time
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np
import pyarrow as pa

from evalray.loadgen.arrivals import ArrivalCursor, ArrivalPlan
from evalray.loadgen.client import HttpConnection, RequestState, answer_text
from evalray.loadgen.eventloop import new_event_loop, raise_open_files_limit
from evalray.loadgen.records import rows_to_table

BACKLOG = 65_536  # the least number of requests that may wait for a connection
SWITCH_INTERVAL_S = 0.0005
# Open loop: how long before a send the dispatcher stops sleeping on a timer and polls the loop until the send is due
# (libuv's and asyncio's timers have 1 ms resolution; polling took the trace replay's slip p50 from 0.5 to 0.02 ms).
SPIN_S = 0.0015


@dataclass
class WorkerSetup:
    """What every worker of a run shares: where to send and the pre-rendered HTTP requests (one per prompt)."""

    host: str
    port: int
    stream: bool
    chat: bool
    payloads: list[bytes]
    prompt_tokens: list[int]
    timeout_s: float
    max_connections: int
    source_addresses: int = 1
    tokenizer: str | None = None
    tls: bool = False
    max_backlog: int | None = None  # most requests waiting for a connection; default max(max_connections, BACKLOG)
    sessions: Any = None  # a multi-turn workload's SessionSetup (evalray.loadgen.sessions); None: payloads
    keep_answers: bool = False  # record every answer's text (a benchmark workload scores them)
    prewarm: int = 0  # connections opened before the start (trace replay: the first sends are not late by a connect)


@dataclass
class WorkerSlice:
    """One worker's share of a run: its requests are ``first_id + k * stride`` for ``k < count``, the first
    ``warmup_count`` of them warm-up; request ``i`` uses prompt ``i % len(prompts)``. ``intended`` gives each request's
    absolute send time (s from the common start) for open loop, as an array of this worker's times or as the whole
    run's lazily drawn :class:`ArrivalPlan` (request id = arrival index), and is ``None`` for closed loop, where
    ``users`` loops each send their next request as soon as the previous one ends (this worker's user ``k`` starts at
    ``(first_id + k * stride) * user_spacing``)."""

    worker: int
    first_id: int
    stride: int
    count: int
    warmup_count: int = 0
    intended: np.ndarray | ArrivalPlan | None = None
    users: int = 0
    user_spacing: float = 0.0
    duration_s: float | None = None


class LoadEngine:
    """Runs one :class:`WorkerSlice` on the event loop of the calling thread."""

    def __init__(self, setup: WorkerSetup, work: WorkerSlice) -> None:
        self.setup = setup
        self.work = work
        self.rows: list[tuple] = []
        self.outbox: list[tuple] = []
        self.outbox_lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clock_zero = 0.0
        self.idle: list[HttpConnection] = []
        self.waiting: collections.deque[RequestState] = collections.deque()
        self.in_flight: dict[HttpConnection, RequestState] = {}
        self.open_connections = 0
        self.connect_attempts = 0
        self.next_index = 0
        self.issued = 0
        self.dropped = 0
        self.users_started = 0
        self.arrivals: ArrivalCursor | None = None
        default_backlog = max(setup.max_connections, BACKLOG)
        self.max_backlog = setup.max_backlog if setup.max_backlog is not None else default_backlog
        self.completed = 0
        self.stopping = False
        self.all_done: asyncio.Event | None = None
        self.max_open_streams = 0
        self.tokenizer = None
        self.sweep_every = 0.05

    # ---- control from other threads ------------------------------------------------------------------------------
    def run(self, start_wall: float) -> dict[str, float]:
        """Block until the slice is done (or stopped). ``start_wall`` is the common start as ``time.time()``."""
        raise_open_files_limit()
        loop = new_event_loop()
        self.loop = loop
        gc_was_enabled = gc.isenabled()
        gc.disable()  # no collector pauses inside timed requests; the run is bounded
        switch = sys.getswitchinterval()
        # another thread of this process (the coordinator or actor thread building record tables) holds the GIL
        # for at most this long before the loop thread gets it back (default 5 ms: a 5 ms late send)
        sys.setswitchinterval(min(switch, SWITCH_INTERVAL_S))
        try:
            return loop.run_until_complete(self._main(start_wall))
        finally:
            loop.close()
            sys.setswitchinterval(switch)
            if gc_was_enabled:
                gc.enable()

    def stop(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop)

    def drain(self) -> pa.Table:
        """The records finished so far, as a table; safe from any thread and never blocks on the loop: rows move to
        the outbox on the loop thread (scheduled here, picked up by the next drain) or directly once the loop ended."""
        loop = self.loop
        if loop is not None and not loop.is_closed() and loop.is_running():
            try:
                loop.call_soon_threadsafe(self._to_outbox)
            except RuntimeError:  # closed meanwhile
                pass
        else:
            self._to_outbox()
        with self.outbox_lock:
            rows, self.outbox = self.outbox, []
        return self._table(rows)

    def _table(self, rows: list[tuple]) -> pa.Table:
        return rows_to_table(rows, self.work.worker)

    def _to_outbox(self) -> None:
        rows, self.rows = self.rows, []
        with self.outbox_lock:
            self.outbox.extend(rows)

    # ---- the loop ------------------------------------------------------------------------------------------------
    async def _main(self, start_wall: float) -> dict[str, float]:
        loop = asyncio.get_running_loop()
        self.all_done = asyncio.Event()
        if self.setup.tokenizer:
            from evalray.loadgen.tokens import load_tokenizer

            self.tokenizer = load_tokenizer(self.setup.tokenizer)
        self.clock_zero = perf_counter() + (start_wall - time.time())
        loop_zero = loop.time() + (start_wall - time.time())
        if self.work.count == 0:
            return self._summary()
        self.sweep_every = min(0.5, max(0.05, self.setup.timeout_s / 100))
        sweeper = loop.call_later(self.sweep_every, self._sweep)
        for _ in range(min(self.setup.prewarm, self.setup.max_connections)):
            self.open_connections += 1
            loop.create_task(self._open_idle())
        if self.work.intended is not None:
            self.arrivals = ArrivalCursor(self.work.intended, self.work.first_id, self.work.stride,
                                          until=self.work.duration_s)
            first = self.arrivals.peek()
            loop.call_at(loop_zero + (first if first is not None else 0.0), self._dispatch)
        else:
            loop.call_at(loop_zero + self.work.first_id * self.work.user_spacing, self._start_users)
        if self.work.duration_s is not None:
            loop.call_at(loop_zero + self.work.duration_s, self._stop_issuing)
        await self.all_done.wait()
        sweeper.cancel()
        for conn in list(self.idle):
            if conn.transport is not None:
                conn.transport.close()
        await asyncio.sleep(0)
        return self._summary()

    def _summary(self) -> dict[str, float]:
        return {"issued": self.issued, "completed": self.completed, "max_open_streams": self.max_open_streams,
                "connections": self.connect_attempts, "dropped": self.dropped}

    def keep_text(self) -> bool:
        """Keep each answer's text (for a tokenizer count when the server sends no usage)."""
        return self.tokenizer is not None

    def _now(self) -> float:
        return perf_counter() - self.clock_zero

    def _issue_allowed(self) -> bool:
        if self.stopping or self.next_index >= self.work.count:
            return False
        return self.arrivals is None or self.arrivals.peek() is not None

    def _take(self, intended: float) -> RequestState:
        i = self.next_index
        self.next_index += 1
        self.issued += 1
        work = self.work
        request_id = work.first_id + i * work.stride
        prompt = request_id % len(self.setup.payloads)
        state = RequestState(request_id, intended, self.setup.prompt_tokens[prompt], i < work.warmup_count)
        state.body = [self.setup.payloads[prompt]]  # carried until a connection takes it
        return state

    def _dispatch(self) -> None:
        arrivals = self.arrivals
        assert arrivals is not None and self.loop is not None
        now = self._now()
        while self._issue_allowed():
            intended = arrivals.peek()
            assert intended is not None
            if intended > now:
                break
            if len(self.waiting) >= self.max_backlog:  # every connection busy and the backlog full: drop, in bulk
                skipped = min(arrivals.skip_until(now), self.work.count - self.next_index)
                self.next_index += skipped
                self.dropped += skipped
                break
            arrivals.advance()
            self._send(self._take(intended))
        if self._issue_allowed():
            delay = (arrivals.peek() or 0.0) - self._now()
            if delay > SPIN_S:  # the loop's timers wake up to 1 ms late: wake early, then spin through the loop
                self.loop.call_later(delay - SPIN_S, self._dispatch)
            else:  # each spin is one loop iteration (a zero-timeout poll), so responses are still read on time
                self.loop.call_soon(self._dispatch)
        else:
            self._check_done()

    def _start_users(self) -> None:
        """Start every closed-loop user whose start time has come (while the backlog has room); then wait for the
        next one."""
        assert self.loop is not None
        work = self.work
        while self.users_started < work.users and self._issue_allowed():
            delay = (work.first_id + self.users_started * work.stride) * work.user_spacing - self._now()
            if delay > 0:
                self.loop.call_later(delay, self._start_users)
                return
            if len(self.waiting) >= self.max_backlog:
                self.loop.call_later(0.01, self._start_users)
                return
            self.users_started += 1
            self._user_send()
        self._check_done()

    def _user_send(self) -> None:
        if self._issue_allowed():
            self._send(self._take(self._now()))
        else:
            self._check_done()

    def _send(self, state: RequestState) -> None:
        if self.idle:
            self._start_on(self.idle.pop(), state)
        elif self.open_connections < self.setup.max_connections:
            self.open_connections += 1
            assert self.loop is not None
            self.loop.create_task(self._connect_and_send(state))
        else:
            self.waiting.append(state)

    def _on_idle_lost(self, conn: HttpConnection) -> None:
        """The server closed a pooled connection (keep-alive timeout): forget it."""
        if conn in self.idle:
            self.idle.remove(conn)
            self.open_connections -= 1

    def _start_on(self, conn: HttpConnection, state: RequestState) -> None:
        if conn.transport is None or conn.transport.is_closing():  # closed since it went idle
            self._on_idle_lost(conn)
            self._send(state)
            return
        payload = state.body[0]
        state.body = []
        if state.started < 0:  # on a pooled connection: the timeout starts now
            state.started = self._now()
        self.in_flight[conn] = state
        if len(self.in_flight) > self.max_open_streams:
            self.max_open_streams = len(self.in_flight)
        conn.send(state, payload)

    async def _connect_and_send(self, state: RequestState) -> None:
        loop = asyncio.get_running_loop()
        setup = self.setup
        local = None
        if setup.source_addresses > 1:
            local = (f"127.0.0.{1 + self.connect_attempts % setup.source_addresses}", 0)
        self.connect_attempts += 1
        state.started = self._now()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: HttpConnection(self._on_done, self.clock_zero, setup.stream, setup.chat,
                                       keep_events=self.keep_text(), on_idle_lost=self._on_idle_lost),
                setup.host, setup.port, local_addr=local, ssl=_client_tls() if setup.tls else None),
                timeout=setup.timeout_s)
        except (OSError, asyncio.TimeoutError) as exc:  # TimeoutError: the connect took the whole timeout
            self.open_connections -= 1
            state.actual = state.end = self._now()
            state.error = "connect_timeout" if isinstance(exc, asyncio.TimeoutError) else "connect_error"
            state.body = []
            self._record(state)
            self._after_request(None, False)
            return
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._start_on(conn, state)

    async def _open_idle(self) -> None:
        """Open one connection before the start and pool it."""
        loop = asyncio.get_running_loop()
        self.connect_attempts += 1
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(
                lambda: HttpConnection(self._on_done, self.clock_zero, self.setup.stream, self.setup.chat,
                                       keep_events=self.keep_text(), on_idle_lost=self._on_idle_lost),
                self.setup.host, self.setup.port, ssl=_client_tls() if self.setup.tls else None),
                timeout=self.setup.timeout_s)
        except (OSError, asyncio.TimeoutError):
            self.open_connections -= 1
            return
        sock = conn.transport.get_extra_info("socket") if conn.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.waiting:
            self._start_on(conn, self.waiting.popleft())
        else:
            self.idle.append(conn)

    def _on_done(self, state: RequestState, conn: HttpConnection, reusable: bool) -> None:
        self.in_flight.pop(conn, None)
        if state.completion_tokens < 0 and state.error is None:
            state.completion_tokens = self._count_completion(state)
        state.body = []
        self._record(state)
        if not reusable:
            self.open_connections -= 1
            if conn.transport is not None:
                conn.transport.close()
        self._after_request(conn if reusable else None, reusable)

    def _count_completion(self, state: RequestState) -> int:
        if self.tokenizer is not None and state.body:
            return len(self.tokenizer.encode(answer_text(state, self.setup.stream)))
        return len(state.chunk_times)

    def _record(self, state: RequestState) -> None:
        self.completed += 1
        self.rows.append((state.request_id, state.intended, state.actual, state.end, state.status, state.error,
                          state.prompt_tokens, max(state.completion_tokens, 0), state.chunk_times, state.warmup))

    def _after_request(self, conn: HttpConnection | None, reusable: bool) -> None:
        self._release(conn)
        if self.work.intended is None:
            self._user_send()
        else:
            self._check_done()

    def _release(self, conn: HttpConnection | None) -> None:
        """A request ended: its connection (None when it is gone) takes the next waiting request or goes idle."""
        if conn is not None:
            if self.waiting:
                self._start_on(conn, self.waiting.popleft())
            else:
                self.idle.append(conn)
        elif self.waiting and self.open_connections < self.setup.max_connections:
            self.open_connections += 1
            assert self.loop is not None
            self.loop.create_task(self._connect_and_send(self.waiting.popleft()))

    def _check_done(self) -> None:
        if self.issued == self.completed and (not self._issue_allowed()) and self.all_done is not None:
            self.all_done.set()

    def _sweep(self) -> None:
        now = self._now()
        limit = self.setup.timeout_s
        expired = [conn for conn, state in self.in_flight.items() if now - state.started > limit]
        for conn in expired:
            conn.abort("timeout")
        assert self.loop is not None
        if not self.all_done or not self.all_done.is_set():
            self.loop.call_later(self.sweep_every, self._sweep)

    def _stop_issuing(self) -> None:
        """The duration is over: issue nothing more; requests still waiting for a connection were never sent."""
        self.stopping = True
        self.dropped += len(self.waiting)
        self.issued -= len(self.waiting)
        self.waiting.clear()
        self._check_done()

    def _stop(self) -> None:
        """Ctrl-C: issue nothing more and cancel what is in flight or waiting."""
        self.stopping = True
        while self.waiting:
            state = self.waiting.popleft()
            state.actual = state.end = self._now()
            state.error = "cancelled"
            state.body = []
            self._record(state)
        for conn in list(self.in_flight):
            conn.abort("cancelled")
        self._check_done()


@functools.lru_cache(maxsize=1)
def _client_tls():  # -> ssl.SSLContext, made once per process
    import ssl

    return ssl.create_default_context()


def run_in_thread(engine: LoadEngine, start_wall: float) -> tuple[threading.Thread, dict[str, float]]:
    """Start ``engine.run`` in a daemon thread; the returned dict is filled with its summary when it ends."""
    summary: dict[str, float] = {}

    def target() -> None:
        summary.update(engine.run(start_wall))

    thread = threading.Thread(target=target, name=f"evalray-loadgen-{engine.work.worker}", daemon=True)
    thread.start()
    return thread, summary
