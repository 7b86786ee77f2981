"""The embedded Ray of ``evalray run`` listens on 127.0.0.1 only, and refuses a caller without its token.

``evalray run`` runs in a subprocess (its own embedded Ray; the environment has no ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``,
as a user's shell would not, and the CLI imports ray before it starts Ray -- the case that used to bind the machine's
address). While it runs, the listening TCP sockets of that subprocess and of every process below it (its GCS, raylet,
agents and workers: only this run's, found by parentage, while other Ray sessions run on the machine) are read with
psutil: each must be on a loopback address, or its process named in docs/reliability.md's list of listeners that
cannot be bound (the test parses it). A raw gRPC call to this session's GCS without the token is refused
(UNAUTHENTICATED) and the same call with the token succeeds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(600)
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
JOB = """
name: loopback
models:
  - {name: slow, backend: simulated, source: x, service_time_s: 0.5, batch_size: 2, resources: {num_cpus: 0.25}}
benchmarks:
  - {name: gsm8k, data_dir: "builtin:quickstart/gsm8k", limit: 30}
scoring: {num_cpus: 0.25}
ray: {num_cpus: 2}
output: OUTPUT
"""


def unbindable_listeners() -> set[str]:
    """Process names listed in docs/reliability.md, section Network, under 'Listeners not on 127.0.0.1'."""
    text = (ROOT / "docs" / "reliability.md").read_text()
    network = text.split("## Network", 1)[1].split("\n## ", 1)[0]
    listed = network.split("### Listeners not on 127.0.0.1", 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", listed, re.M))


def _listeners(root: psutil.Process) -> dict[tuple[str, int], str]:
    found = {}
    for process in [root, *root.children(recursive=True)]:
        try:
            name = process.name()
            sockets = process.net_connections(kind="inet")
        except psutil.Error:
            continue
        for sock in sockets:
            if sock.status == psutil.CONN_LISTEN:
                found[(sock.laddr.ip, sock.laddr.port)] = name
    return found


def _gcs_call(port: int, token: str | None):
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        metadata = [("authorization", f"Bearer {token}")] if token else []
        return stub.GetAllNodeInfo(gcs_service_pb2.GetAllNodeInfoRequest(), metadata=metadata, timeout=10)


# Ray gives its raylet a fixed 30 s to register (ray/_private/node.py); on an overloaded machine that can pass
STARTUP_TIMEOUT = "The current node timed out during startup"


def _watch_run(job: Path, env: dict[str, str]) -> tuple[int, str, dict[tuple[str, int], str], dict[str, object]]:
    """Run ``evalray run JOB`` and, while it runs, read its process tree's listeners and probe its GCS."""
    import grpc

    run = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "run", str(job), "--quiet", "--fresh"],
                           env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    listeners: dict[tuple[str, int], str] = {}
    auth: dict[str, object] = {}
    root = psutil.Process(run.pid)
    try:
        deadline = time.monotonic() + 300
        while run.poll() is None and time.monotonic() < deadline:
            listeners.update(_listeners(root))
            gcs = [port for (ip, port), name in listeners.items() if name == "gcs_server"]
            if gcs and "without" not in auth:
                time.sleep(1.0)
                try:
                    auth["with"] = _gcs_call(gcs[0], (Path.home() / ".ray" / "auth_token").read_text().strip())
                    auth["without"] = _gcs_call(gcs[0], None)
                except grpc.RpcError as exc:
                    auth.setdefault("without", exc)
            time.sleep(0.3)
    finally:
        if run.poll() is None:
            run.kill()
        output = run.communicate(timeout=60)[0]
    return run.returncode, output, listeners, auth


def test_every_listener_of_an_embedded_run_is_on_loopback(tmp_path):
    import grpc

    job = tmp_path / "job.yaml"
    job.write_text(JOB.replace("OUTPUT", str(tmp_path / "out")))
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")}
    for _ in range(3):
        code, output, listeners, auth = _watch_run(job, env)
        if STARTUP_TIMEOUT not in output:
            break
    assert code == 0, output[-3000:]
    names = set(listeners.values())
    assert {"gcs_server", "raylet"} <= names, f"the run's Ray processes were not seen: {listeners}"
    allowed = unbindable_listeners()
    exposed = {f"{ip}:{port} ({name})" for (ip, port), name in listeners.items()
               if ip not in LOOPBACK and name not in allowed}
    assert not exposed, f"listening beyond loopback and not in docs/reliability.md: {sorted(exposed)}"
    from ray.core.generated import gcs_service_pb2

    assert isinstance(auth.get("with"), gcs_service_pb2.GetAllNodeInfoReply), f"the call with the token works: {auth}"
    refused = auth["without"]
    assert isinstance(refused, grpc.RpcError) and refused.code() == grpc.StatusCode.UNAUTHENTICATED

