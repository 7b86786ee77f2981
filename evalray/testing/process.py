"""Run ``evalray mock-server`` in a subprocess on a free 127.0.0.1 port (for tests and benchmarks/)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Iterator


@contextlib.contextmanager
def mock_server_process(*args: str, lifetime_s: float = 300.0, start_timeout_s: float = 60.0,
                        nice: int = 0) -> Iterator[str]:
    """Start ``evalray mock-server --port 0 ARGS`` and yield its base URL (``http://127.0.0.1:PORT/v1``).
    A negative ``nice`` raises the server's scheduling priority where allowed (timing tests on a busy machine)."""
    command = [sys.executable, "-u", "-m", "evalray.cli.main", "mock-server", "--port", "0",
               "--lifetime", str(lifetime_s), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=(lambda: _renice(nice)) if nice else None)
    try:
        deadline = time.monotonic() + start_timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if "listening on" in line or process.poll() is not None:
                break
        if "listening on" not in line:
            raise RuntimeError(f"mock server did not start: {line!r} {process.stderr.read() if process.stderr else ''}")
        yield line.strip().split()[-1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _renice(increment: int) -> None:
    import os

    try:
        os.nice(increment)
    except OSError:
        pass
