"""Ray Jobs API client for ``evalray submit`` and ``evalray jobs``: address resolution (``--address``, then
``RAY_API_SERVER_ADDRESS`` / ``RAY_ADDRESS``, then http://127.0.0.1:8265), a fast reachability probe so a dead
address fails in one line within seconds, submission, log tailing and status."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

from evalray.errors import EvalrayError

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
ADDRESS_ENV = ("RAY_API_SERVER_ADDRESS", "RAY_ADDRESS")
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")
PROBE_TIMEOUT_S = 5.0


def resolve_address(address: str | None) -> str:
    """The dashboard address to use; a bare ``host:port`` gets ``http://``; ``auto`` finds a local cluster."""
    value = address or next((os.environ[k] for k in ADDRESS_ENV if os.environ.get(k)), None) or DEFAULT_ADDRESS
    value = value.strip().rstrip("/")
    if value.startswith("ray://"):
        raise EvalrayError(f"{value} is a Ray Client address; submit needs the dashboard address, e.g. http://HEAD:8265")
    if "://" not in value and value != "auto":
        value = f"http://{value}"
    return value


def probe(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail fast, in one line, when nothing listens at an http(s) address."""
    if address == "auto":
        return
    parsed = urlparse(address)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise EvalrayError(f"bad Ray dashboard address '{address}'; expected http://HOST:8265")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__.replace("Error", " error").lower()
        raise EvalrayError(
            f"cannot reach the Ray dashboard at {address} ({reason}); is the cluster up "
            "(`ray start --head --dashboard-host 0.0.0.0`)? Set --address or RAY_ADDRESS"
        ) from None


@contextlib.contextmanager
def _address_env_cleared() -> Iterator[None]:
    """Ray lets RAY_ADDRESS override an explicit address; hide it while the client resolves ours."""
    saved = {k: os.environ.pop(k) for k in ADDRESS_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def connect(address: str | None) -> Any:
    """A connected ``JobSubmissionClient``; every failure becomes one :class:`EvalrayError` line."""
    resolved = resolve_address(address)
    probe(resolved)
    from ray.job_submission import JobSubmissionClient

    quiet_ray_client_logs()
    try:
        with _address_env_cleared():
            return JobSubmissionClient(resolved)
    except Exception as exc:  # ConnectionError, RuntimeError (version), ValueError (no local cluster)
        raise EvalrayError(f"cannot connect to the Ray Jobs API at {resolved}: {one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def dashboard_url(client: Any, submission_id: str) -> str:
    return f"{client.get_address()}/#/jobs/{submission_id}"


def job_info(client: Any, submission_id: str) -> Any:
    try:
        return client.get_job_info(submission_id)
    except Exception as exc:
        raise _job_error(exc, submission_id, client) from None


def _job_error(exc: Exception, submission_id: str, client: Any) -> EvalrayError:
    text = one_line(exc)
    if "404" in text or "does not exist" in text:
        return EvalrayError(f"no job '{submission_id}' on {client.get_address()}")
    return EvalrayError(f"job '{submission_id}': {text}")


def job_logs(client: Any, submission_id: str) -> str:
    try:
        return client.get_job_logs(submission_id)
    except Exception as exc:
        raise _job_error(exc, submission_id, client) from None


def stop_job(client: Any, submission_id: str) -> bool:
    try:
        return bool(client.stop_job(submission_id))
    except Exception as exc:
        raise _job_error(exc, submission_id, client) from None


def list_jobs(client: Any) -> list[Any]:
    try:
        jobs = client.list_jobs()
    except Exception as exc:
        raise EvalrayError(f"cannot list jobs at {client.get_address()}: {one_line(exc)}") from None
    return sorted(jobs, key=lambda j: j.start_time or 0)


def tail_logs(client: Any, submission_id: str, sink: Callable[[str], None]) -> None:
    """Stream the job's logs to ``sink`` until it ends; on a dropped stream fall back to polling."""

    async def follow() -> None:
        async for chunk in client.tail_job_logs(submission_id):
            sink(chunk)

    try:
        asyncio.run(follow())
    except Exception:  # the websocket closed early (e.g. dashboard restart): wait by polling instead
        wait_for(client, submission_id)


def wait_for(client: Any, submission_id: str, timeout_s: float | None = None, poll_s: float = 1.0) -> Any:
    """Poll until the job reaches a terminal status; return its JobInfo."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        info = job_info(client, submission_id)
        if str(info.status) in TERMINAL or getattr(info.status, "value", "") in TERMINAL:
            return info
        if deadline is not None and time.monotonic() > deadline:
            raise EvalrayError(f"job '{submission_id}' still {status_name(info)} after {timeout_s:.0f}s")
        time.sleep(poll_s)


def failure_summary(message: str | None) -> str:
    """Ray's failure message is many lines (it appends the log tail): keep its first line and the driver's own
    ``error: ...`` line, if any."""
    if not message:
        return "see the logs above"
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0].split(", last available logs")[0]
    cause = next((line.removeprefix("error: ") for line in reversed(lines) if line.startswith("error: ")), None)
    return f"{first} ({cause})" if cause else first


def quiet_ray_client_logs() -> None:
    """The Jobs SDK logs every upload and websocket close at INFO on stderr; evalray prints its own lines."""
    import logging

    for name in ("ray.dashboard.modules.dashboard_sdk", "ray.dashboard.modules.job.sdk",
                 "ray._private.runtime_env.packaging"):
        logging.getLogger(name).setLevel(logging.WARNING)


def status_name(info: Any) -> str:
    return str(getattr(info.status, "value", info.status))
