"""Multi-turn sessions on the load engine: a session is the unit of load (closed loop: ``users`` sessions in flight,
each user running one session after another; open loop: sessions arrive at the planned times), and each turn's
request carries the whole conversation so far: the earlier user messages and the text the server actually streamed
back for each earlier turn.

Turn ``k + 1`` is sent ``think_s[k]`` seconds after turn ``k`` ended (its ``intended_send`` is that moment, so a late
send shows as queueing delay). A failed turn ends its session (there is no answer to carry on with). Request ids are
``session * 1024 + turn``; every record also carries its session, turn index and the session's planned turns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from evalray.loadgen.client import HttpConnection, RequestState, answer_text
from evalray.loadgen.engine import LoadEngine
from evalray.loadgen.records import rows_to_table

TURN_ID_STRIDE = 1024  # request id = session * 1024 + turn (at most 1000 turns)


@dataclass
class Session:
    """One planned session: its user messages with each turn's max_tokens, and the think time after each turn."""

    turns: list[tuple[str, int]]
    think_s: list[float]


@dataclass
class SessionSetup:
    """What a worker needs to render any turn: the request head (up to the Content-Length), the body's fixed fields
    and the sessions (session ``s`` of a run is ``sessions[s % len(sessions)]``)."""

    sessions: list[Session]
    head: bytes
    base: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    chat: bool = True
    system_prompt: str | None = None


class _Live:
    __slots__ = ("session_id", "plan", "turn", "messages", "warmup", "timer", "due", "tokens")

    def __init__(self, session_id: int, plan: Session, warmup: bool, system_prompt: str | None) -> None:
        self.session_id = session_id
        self.plan = plan
        self.turn = 0
        self.messages: list[dict[str, str]] = [{"role": "system", "content": system_prompt}] if system_prompt else []
        self.warmup = warmup
        self.timer: Any = None
        self.due = 0.0
        self.tokens = 0


def render_conversation(setup: SessionSetup, messages: list[dict[str, str]], max_tokens: int) -> bytes:
    """The HTTP request of one turn: chat messages, or (completions) the conversation as ``role: text`` lines."""
    body = dict(setup.base)
    body["max_tokens"] = max_tokens
    if setup.chat:
        body["messages"] = messages
    else:
        body["prompt"] = "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"
    body.update(setup.extra)
    payload = json.dumps(body, ensure_ascii=False).encode()
    return setup.head + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload


class SessionEngine(LoadEngine):
    """:class:`LoadEngine` whose unit of work is a session (``work.count`` sessions, ``work.warmup_count`` of them
    warm-up); connections, timeouts, records and stopping are the base engine's."""

    def __init__(self, setup: Any, work: Any) -> None:
        super().__init__(setup, work)
        assert setup.sessions is not None
        self.sessions: SessionSetup = setup.sessions
        self.active: dict[int, _Live] = {}  # session id -> live session (in flight or thinking)
        self.by_request: dict[int, _Live] = {}
        self.texts: dict[int, str | None] = {}
        self.last: tuple[RequestState, _Live | None] | None = None
        self.sessions_started = 0

    def keep_text(self) -> bool:
        return True

    # ---- starting sessions and turns -----------------------------------------------------------------------------
    def _take(self, intended: float) -> RequestState:
        """Start the next session of this worker; return its first turn's request."""
        k = self.next_index
        self.next_index += 1
        session_id = self.work.first_id + k * self.work.stride
        plan = self.sessions.sessions[session_id % len(self.sessions.sessions)]
        live = _Live(session_id, plan, k < self.work.warmup_count, self.sessions.system_prompt)
        self.active[session_id] = live
        self.sessions_started += 1
        return self._turn_request(live, intended)

    def _turn_request(self, live: _Live, intended: float) -> RequestState:
        text, max_tokens = live.plan.turns[live.turn]
        live.messages.append({"role": "user", "content": text})
        live.tokens += len(text.split())
        request_id = live.session_id * TURN_ID_STRIDE + live.turn
        self.issued += 1
        state = RequestState(request_id, intended, live.tokens, live.warmup)
        state.body = [render_conversation(self.sessions, live.messages, max_tokens)]
        self.by_request[request_id] = live
        return state

    def _next_turn(self, live: _Live) -> None:
        live.timer = None
        if self.stopping:
            self._end_session(live)
            return
        self._send(self._turn_request(live, live.due))

    # ---- finishing turns -----------------------------------------------------------------------------------------
    def _on_done(self, state: RequestState, conn: HttpConnection, reusable: bool) -> None:
        ok = state.error is None and state.status == 200
        self.texts[state.request_id] = answer_text(state, self.setup.stream) if ok else None
        super()._on_done(state, conn, reusable)

    def _record(self, state: RequestState) -> None:
        live = self.by_request.pop(state.request_id, None)
        self.completed += 1
        session = live.session_id if live is not None else state.request_id // TURN_ID_STRIDE
        planned = len(live.plan.turns) if live is not None else 0
        self.rows.append((state.request_id, state.intended, state.actual, state.end, state.status, state.error,
                          state.prompt_tokens, max(state.completion_tokens, 0), state.chunk_times, state.warmup,
                          session, state.request_id % TURN_ID_STRIDE, planned))
        self.last = (state, live)

    def _after_request(self, conn: HttpConnection | None, reusable: bool) -> None:
        self._release(conn)
        last, self.last = self.last, None
        if last is None:
            self._check_done()
            return
        state, live = last
        text = self.texts.pop(state.request_id, None)
        if live is None or live.session_id not in self.active:
            self._check_done()
            return
        if text is None or self.stopping:
            self._end_session(live)
            return
        live.messages.append({"role": "assistant", "content": text})
        live.tokens += max(state.completion_tokens, 0)
        think = live.plan.think_s[live.turn] if live.turn < len(live.plan.think_s) else 0.0
        live.turn += 1
        if live.turn >= len(live.plan.turns):
            self._end_session(live)
            return
        live.due = state.end + think
        if think > 0:
            assert self.loop is not None
            live.timer = self.loop.call_later(think, self._next_turn, live)
        else:
            self._next_turn(live)

    def _end_session(self, live: _Live) -> None:
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None
        self.active.pop(live.session_id, None)
        if self.work.intended is None and not self.stopping:
            self._user_send()  # this user's next session
        else:
            self._check_done()

    def _check_done(self) -> None:
        if not self.active:
            super()._check_done()

    # ---- stopping ------------------------------------------------------------------------------------------------
    def _stop_issuing(self) -> None:
        waiting = [self.by_request.pop(s.request_id, None) for s in self.waiting]
        self.stopping = True
        for live in [lv for lv in waiting if lv is not None] + [lv for lv in self.active.values() if lv.timer]:
            self.active.pop(live.session_id, None)
            if live.timer is not None:
                live.timer.cancel()
        super()._stop_issuing()

    def _stop(self) -> None:
        self.stopping = True
        waiting = [self.by_request.get(s.request_id) for s in self.waiting]
        for live in [lv for lv in waiting if lv is not None] + [lv for lv in self.active.values() if lv.timer]:
            self.active.pop(live.session_id, None)
            if live.timer is not None:
                live.timer.cancel()
        super()._stop()

    def _summary(self) -> dict[str, float]:
        summary = super()._summary()
        summary["sessions_started"] = self.sessions_started
        return summary

    def _table(self, rows: list[tuple]) -> pa.Table:
        return session_rows_to_table(rows, self.work.worker)


SESSION_FIELDS = [pa.field("session", pa.int64()), pa.field("turn", pa.int32()), pa.field("session_turns", pa.int32())]


def session_rows_to_table(rows: list[tuple], worker: int) -> pa.Table:
    """Engine rows with the three session fields at the end -> a record table with ``session``, ``turn`` and
    ``session_turns`` columns."""
    table = rows_to_table([r[:10] for r in rows], worker)
    columns = list(zip(*rows)) if rows else [[] for _ in range(13)]
    for index, f in zip((10, 11, 12), SESSION_FIELDS):
        table = table.append_column(f, pa.array(columns[index], f.type))
    return table
