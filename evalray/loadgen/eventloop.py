"""Process set-up shared by the load generator and the mock server: a fast event loop and a high open-files limit."""

from __future__ import annotations

import asyncio
import resource


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else the default asyncio loop."""
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def raise_open_files_limit() -> int:
    """Raise this process's open-file limit as far as allowed; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target in (1_048_576, 262_144, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
            return target
        except (ValueError, OSError):
            continue
    return soft
