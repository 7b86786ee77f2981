"""The load-generator fleet: worker objects (plain, or Ray actors spread over the cluster) and the coordinator loop
that hands each worker its slice and a common start time, collects record batches and shows progress."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import pyarrow as pa

from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.engine import LoadEngine, WorkerSetup, WorkerSlice, run_in_thread
from evalray.loadgen.prompts import Prompt
from evalray.loadgen.records import concat
from evalray.loadgen.quality import AnswerEngine
from evalray.loadgen.sessions import Session, SessionEngine, SessionSetup

START_LEAD_S = 0.5
PREWARM = 8  # connections a trace replay's worker opens before the start
POLL_S = 0.5


def endpoint(spec: PerfJobSpec) -> tuple[str, int, str, bool, bool]:
    """(host, port, path, chat, tls) of the target."""
    parts = urlsplit(spec.target.url)
    path = parts.path.rstrip("/")
    if not path.endswith(("/chat/completions", "/completions")):
        path += "/chat/completions" if spec.target.api == "chat" else "/completions"
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    return str(parts.hostname), port, path, path.endswith("/chat/completions"), tls


def _fixed_body(spec: PerfJobSpec) -> dict[str, Any]:
    target = spec.target
    body: dict[str, Any] = {"model": target.model, "stream": target.stream}
    if target.stream:
        body["stream_options"] = {"include_usage": True}
    if target.ignore_eos:
        body["ignore_eos"] = True
    return body


def _head(spec: PerfJobSpec, host: str, path: str, api_key: str | None) -> bytes:
    target = spec.target
    headers = {"Host": host, "Content-Type": "application/json", "Accept": "text/event-stream" if target.stream
               else "application/json", "User-Agent": "evalray-perf", **target.headers}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return (f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())).encode()


def render_request(spec: PerfJobSpec, prompt: Prompt, host: str, path: str, chat: bool,
                   api_key: str | None) -> bytes:
    """The complete HTTP/1.1 request for one prompt (sent as is, many times)."""
    import json

    body = _fixed_body(spec)
    body["max_tokens"] = prompt.max_tokens
    if chat:
        body["messages"] = list(prompt.messages) or [{"role": "user", "content": prompt.text}]
    else:
        body["prompt"] = prompt.text
    if prompt.stop:
        body["stop"] = list(prompt.stop)
    body.update(spec.target.extra_body)
    payload = json.dumps(body, ensure_ascii=False).encode()
    return _head(spec, host, path, api_key) + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload


def build_setup(spec: PerfJobSpec, prompts: list[Prompt], max_connections: int,
                sessions: list[Session] | None = None, keep_answers: bool = False) -> WorkerSetup:
    from evalray.errors import ConfigError

    host, port, path, chat, tls = endpoint(spec)
    api_key = None
    if spec.target.api_key_env:
        api_key = os.environ.get(spec.target.api_key_env)
        if api_key is None:
            raise ConfigError(f"api_key_env: the environment variable {spec.target.api_key_env} is not set")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    payloads = [render_request(spec, p, host_header, path, chat, api_key) for p in prompts]
    session_setup = None
    if sessions is not None:
        system = getattr(spec.workload, "system_prompt", None)
        session_setup = SessionSetup(sessions, _head(spec, host_header, path, api_key), _fixed_body(spec),
                                     dict(spec.target.extra_body), chat, system)
    return WorkerSetup(host=host, port=port, stream=spec.target.stream, chat=chat, payloads=payloads,
                       prompt_tokens=[p.prompt_tokens for p in prompts], timeout_s=spec.target.timeout_s,
                       max_connections=max_connections, source_addresses=spec.fleet.source_addresses,
                       tokenizer=spec.prompts.tokenizer, tls=tls, sessions=session_setup, keep_answers=keep_answers,
                       prewarm=PREWARM if getattr(spec.workload, "type", None) == "trace" else 0)


class LoadWorker:
    """One load generator: keeps the setup, runs a slice on its own event-loop thread, hands out record batches."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.setup: WorkerSetup | None = None
        self.engine: LoadEngine | None = None
        self.thread: Any = None
        self.summary: dict[str, float] = {}

    def node(self) -> str:
        try:
            import ray

            return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else "local"
        except Exception:  # noqa: BLE001 - outside Ray
            return "local"

    def prepare(self, setup: WorkerSetup) -> None:
        self.setup = setup

    def start(self, work: WorkerSlice, start_wall: float) -> None:
        assert self.setup is not None, "prepare() first"
        engine = SessionEngine if self.setup.sessions is not None else AnswerEngine if self.setup.keep_answers \
            else LoadEngine
        self.engine = engine(self.setup, work)
        self.thread, self.summary = run_in_thread(self.engine, start_wall)

    def poll(self) -> tuple[bool, pa.Table, dict[str, float]]:
        """(finished, new records, summary) -- the summary is complete once finished."""
        assert self.engine is not None
        finished = not self.thread.is_alive()
        return finished, self.engine.drain(), dict(self.summary)

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()


@dataclass
class PointResult:
    table: pa.Table
    summaries: list[dict[str, float]]
    nodes: list[str]
    interrupted: bool = False
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _init_ray(job: PerfJobSpec, address: str | None) -> None:
    """Connect to ``address`` (else the job's ``ray.address``, else $RAY_ADDRESS) or start a local Ray, with the
    job's namespace and runtime_env."""
    from evalray.runtime import start_ray

    start_ray(address or job.ray.address, namespace=job.ray.namespace, runtime_env=job.runtime_env,
              num_cpus=job.ray.num_cpus)


class Fleet:
    """The workers of a job; ``remote`` when they are Ray actors."""

    def __init__(self, job: PerfJobSpec, address: str | None) -> None:
        spec = job.fleet
        self.remote = not spec.local
        count = 1 if spec.local else spec.workers
        if not self.remote:
            self.workers: list[Any] = [LoadWorker(0)]
            self.nodes = ["local"]
            return
        import ray

        if not ray.is_initialized():
            _init_ray(job, address)
        actor_class = ray.remote(LoadWorker)
        self.workers = [
            actor_class.options(num_cpus=spec.cpus_per_worker, scheduling_strategy="SPREAD",
                                name=None, max_restarts=0).remote(i)
            for i in range(count)
        ]
        self.nodes = ray.get([w.node.remote() for w in self.workers])

    def _call(self, worker: Any, method: str, *args: Any) -> Any:
        if self.remote:
            return getattr(worker, method).remote(*args)
        return getattr(worker, method)(*args)

    def _get(self, values: list[Any]) -> list[Any]:
        if self.remote:
            import ray

            return ray.get(values)
        return values

    def prepare(self, setup: WorkerSetup) -> None:
        if self.remote:
            import ray

            setup_ref = ray.put(setup)
            self._get([w.prepare.remote(setup_ref) for w in self.workers])
        else:
            for w in self.workers:
                w.prepare(setup)

    def run(self, slices: list[WorkerSlice], progress: Callable[[int, int, float], None] | None) -> PointResult:
        """Run one point: common start ``START_LEAD_S`` from now; poll batches until every worker is done."""
        start_wall = time.time() + START_LEAD_S
        self._get([self._call(w, "start", s, start_wall) for w, s in zip(self.workers, slices)])
        tables: list[pa.Table] = []
        summaries: list[dict[str, float]] = [{} for _ in self.workers]
        done = [False] * len(self.workers)
        interrupted = False
        while not all(done):
            try:
                time.sleep(POLL_S)
                self._collect(done, tables, summaries)
                if progress:
                    progress(sum(t.num_rows for t in tables), sum(t.num_rows - t["error"].null_count for t in tables),
                             time.time() - start_wall)
            except KeyboardInterrupt:
                interrupted = True
                print("\ninterrupted: stopping workers and keeping what has finished", file=sys.stderr)
                self._get([self._call(w, "stop") for w in self.workers])
                deadline = time.time() + 15
                while not all(done) and time.time() < deadline:
                    time.sleep(0.2)
                    self._collect(done, tables, summaries)
                break
        return PointResult(concat(tables), summaries, list(self.nodes), interrupted, time.time() - start_wall)

    def _collect(self, done: list[bool], tables: list[pa.Table], summaries: list[dict[str, float]]) -> None:
        polled = self._get([self._call(w, "poll") for w in self.workers])
        for i, (finished, table, summary) in enumerate(polled):
            done[i] = done[i] or finished
            tables.append(table)
            summaries[i] = summary

    def close(self) -> None:
        if self.remote:
            import ray

            for w in self.workers:
                ray.kill(w)
