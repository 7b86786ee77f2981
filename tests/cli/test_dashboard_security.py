"""The dashboard serves nothing outside ``--runs`` (path traversal, encoded or not, absolute paths and symlinks out
all answer 404, checked with raw HTTP requests against a real ``evalray dashboard`` process) and refuses a
non-loopback ``--host`` unless ``--allow-remote``."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time

import pytest

from evalray.dashboard.runs import resolve_inside
from evalray.dashboard.server import is_loopback
from tests.browser.fixtures import write_eval_run
from tests.conftest import ROOT, free_port, run_cli

SECRET = "top-secret-7f3a"

ATTACKS = [
    "/files/../secret.txt", "/files/..%2fsecret.txt", "/files/%2e%2e/secret.txt", "/files/%2e%2e%2fsecret.txt",
    "/files/run/../../secret.txt", "/files/run/..%2f..%2fsecret.txt", "/files//etc/passwd", "/files/%2fetc%2fpasswd",
    "/files/run/%2e%2e/%2e%2e/secret.txt", "/files/..\\secret.txt", "/files/link/secret.txt",
    "/files/run/../../../../../../etc/passwd", "/run/..", "/run/../outside", "/run/%2e%2e/outside",
    "/samples/../outside?model=m&benchmark=toy", "/api/samples/..%2foutside", "/perf/..", "/arena/../outside",
    "/api/progress/../outside", "/fragment/progress/%2e%2e", "/files/run/result.json%00.txt",
    "/files/run/samples/m/toy.parquet/../../../../secret.txt",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("security")
    root = base / "runs"
    write_eval_run(root / "run", "run", "toy", {"m": [{"id": "0", "correct": True}]})
    write_eval_run(base / "outside", "outside", "toy", {"m": [{"id": "0", "correct": True}]})
    (base / "secret.txt").write_text(SECRET)
    os.symlink(base, root / "link")  # a symlink inside the root that points out of it
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "dashboard", "--runs", str(root), "--port",
                                str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if _get(port, "/api/runs")[0] == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"dashboard did not start: {process.stdout.read() if process.stdout else ''}")
    yield port
    process.terminate()
    process.wait(timeout=20)


def _get(port: int, path: str) -> tuple[int, str]:
    """A raw GET: the path goes on the wire exactly as written (no client-side normalisation)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_files_inside_the_root_are_served(server):
    status, body = _get(server, "/files/run/result.json")
    assert status == 200 and '"name": "run"' in body
    assert _get(server, "/run/run")[0] == 200


@pytest.mark.parametrize("path", ATTACKS)
def test_path_traversal_is_404(server, path):
    status, body = _get(server, path)
    assert status == 404, (path, status)
    assert SECRET not in body and "root:" not in body and "outside-test" not in body


def test_resolve_inside_rejects_escapes(tmp_path):
    (tmp_path / "a").mkdir()
    assert resolve_inside(tmp_path, "a") == (tmp_path / "a").resolve()
    for rel in ("..", "a/../..", "/etc", "a/./../../x", "a\\..\\..", "C:/x", "a//b", "a/\x00"):
        assert resolve_inside(tmp_path, rel) is None, rel


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_non_loopback_host_is_refused(host, tmp_path):
    done = run_cli("dashboard", "--runs", str(tmp_path), "--host", host, "--port", str(free_port()), timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and "--allow-remote" in lines[0] and "Traceback" not in done.stderr


def test_loopback_names():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "192.168.1.20"))
