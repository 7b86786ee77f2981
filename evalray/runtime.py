"""Starting and stopping Ray: the one place that does it, for eval and perf jobs, Serve and the CLI.

:func:`ray_session` connects to the Ray a job names (``address``, else ``$RAY_ADDRESS`` as set in Ray Jobs
entrypoints) or starts an embedded local one, and shuts Ray down on exit only when it started it, so nested users
(a job around a Serve deployment around its clients) share one Ray. The embedded Ray is quiet (no dashboard, warnings
only, no token-auth banner) and keeps its ports on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from typing import Any, Iterator

LOOPBACK = "127.0.0.1"


# Python loggers of Ray whose start-up notices are not the user's business in an evalray run (token authentication
# stays on; only its banner goes)
QUIET_RAY_LOGGERS = ("ray._private.authentication.authentication_token_setup",)
# C++ log lines of the driver's core worker that every Ray Data actor pool triggers (its DataContext is passed by
# reference, and the pool's actors may restart); they say nothing about the run
NOISE_MARKERS = (b"has constructor arguments in the object store and max_restarts > 0",)


def _quiet_environment() -> None:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # bind the embedded Ray to 127.0.0.1
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage-stats banner or upload attempts
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    for name in QUIET_RAY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def filtered_stderr(markers: tuple[bytes, ...] = NOISE_MARKERS) -> Iterator[None]:
    """Drop the lines of file descriptor 2 (C++ code writes there directly) that contain a noise marker; everything
    else, progress bars included, passes through unchanged. For the CLI; a no-op where fd 2 is not a real file."""
    import sys
    import threading

    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        pending = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            kept = [line + b"\n" for line in lines if not any(m in line for m in markers)]
            if pending and not pending.startswith(b"["):  # a partial line (a progress bar), not a C++ log line
                kept.append(pending)
                pending = b""
            if kept:
                os.write(original, b"".join(kept))
        if pending:
            os.write(original, pending)

    thread = threading.Thread(target=pump, name="evalray-stderr", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the pump drains and stops
        thread.join(timeout=2.0)
        os.close(original)
        os.close(read_end)


def start_ray(address: str | None = None, *, namespace: str | None = None, runtime_env: dict[str, Any] | None = None,
              num_cpus: int | None = None) -> bool:
    """Connect to (or start) Ray unless it is already up; return True when this call started or connected it."""
    import ray

    if ray.is_initialized():
        return False
    _quiet_environment()
    address = address or os.environ.get("RAY_ADDRESS")
    handlers = _python_signal_handlers()
    kwargs: dict[str, Any] = dict(namespace=namespace, runtime_env=runtime_env, logging_level=logging.WARNING,
                                  log_to_driver=True)
    if address:
        # a cluster on this machine's loopback (`ray start --node-ip-address 127.0.0.1`): Ray would rewrite
        # 127.0.0.1 to the machine's address and wait forever for a GCS that does not listen there
        loopback = address.split("://")[-1].rsplit(":", 1)[0] in (LOOPBACK, "localhost")
        with _loopback_node_address() if loopback else contextlib.nullcontext():
            ray.init(address=address, **kwargs)
    else:
        # address="local": always a fresh embedded Ray, even when a `ray start` cluster runs on this machine
        kwargs["runtime_env"] = env_vars_to_environment(runtime_env)
        with _loopback_node_address():
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, _node_ip_address=LOOPBACK, **kwargs)
    os.environ.pop("RAY_AUTH_MODE", None)  # ray.init sets it in os.environ; children (ray start, jobs) must not inherit
    for signum, handler in handlers.items():  # Ray's core worker replaces them with its crash handler
        signal.signal(signum, handler)
    return True


@contextlib.contextmanager
def _loopback_node_address() -> Iterator[None]:
    """Make ``ray.init`` keep the embedded node on 127.0.0.1. Ray turns ``_node_ip_address="127.0.0.1"`` into the
    machine's address unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, which it reads once, when ray is imported --
    usually before :func:`start_ray` runs, so the constant is set for the call (the processes Ray starts read the
    variable from the environment :func:`_quiet_environment` set)."""
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    if os.environ.get(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR) == "0":
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def env_vars_to_environment(runtime_env: dict[str, Any] | None) -> dict[str, Any] | None:
    """For the embedded Ray: put ``runtime_env.env_vars`` into this process's environment, which the raylet and
    every worker inherit, and return the rest of the runtime_env. Ray writes the runtime_env it is given to its
    session logs in plain text (runtime_env_agent.log, the job config); the environment it never logs. (A remote
    cluster gets the runtime_env as given: see docs/reliability.md, Secrets.)"""
    if not runtime_env or not isinstance(runtime_env.get("env_vars"), dict):
        return runtime_env
    os.environ.update({str(k): str(v) for k, v in runtime_env["env_vars"].items()})
    rest = {k: v for k, v in runtime_env.items() if k != "env_vars"}
    return rest or None


def _python_signal_handlers() -> dict[int, Any]:
    """The SIGTERM/SIGINT handlers the caller installed (a CLI turning SIGTERM into a clean stop), to put back after
    ``ray.init``; only in the main thread, where Python allows it."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    handlers = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        if callable(handler):
            handlers[signum] = handler
    return handlers


def stop_ray(started: bool) -> None:
    import ray

    if started and ray.is_initialized():
        ray.shutdown()


@contextlib.contextmanager
def ray_session(address: str | None = None, *, namespace: str | None = None,
                runtime_env: dict[str, Any] | None = None, num_cpus: int | None = None) -> Iterator[bool]:
    """Ray for the duration of the block; yields whether this block owns it (and so shuts it down)."""
    started = start_ray(address, namespace=namespace, runtime_env=runtime_env, num_cpus=num_cpus)
    try:
        yield started
    finally:
        stop_ray(started)
