"""Start the dashboard: loopback only unless ``--allow-remote``; uvicorn with the Starlette app."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from evalray.errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ::1 (a name must resolve only to those)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def check_host(host: str, allow_remote: bool) -> None:
    if not allow_remote and not is_loopback(host):
        raise ConfigError(f"--host {host} is not a loopback address: the dashboard has no authentication; "
                          "pass --allow-remote to serve it to other machines")


def serve(root: Path, host: str, port: int, allow_remote: bool = False) -> None:
    import uvicorn

    from evalray.dashboard.app import create_app

    check_host(host, allow_remote)
    if not root.is_dir():
        raise ConfigError(f"--runs {root}: no such directory")
    import plotly.graph_objects  # noqa: F401  (imported now, not by the first page that draws a chart)

    shown = f"[{host}]" if ":" in host else host
    print(f"evalray dashboard: http://{shown}:{port}/ (runs under {root.resolve()}; Ctrl-C stops it)", flush=True)
    app = create_app(root)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    except OSError as exc:
        raise ConfigError(f"dashboard: cannot listen on {host}:{port} ({exc.strerror})") from None
