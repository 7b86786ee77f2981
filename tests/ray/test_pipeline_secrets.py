"""Secrets kept secret in an embedded run: a value from ``${ENV}`` in ``runtime_env.env_vars`` reaches the Ray
workers, and it and the API key named by ``api_key_env`` appear nowhere in the output directory, in what evalray
prints or logs, or in any file of the run's own Ray session directory (Ray writes the runtime_env it is given to
runtime_env_agent.log in plain text: evalray hands the embedded Ray the env_vars through the environment instead).
A server's error body that echoes the key is stored redacted."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from evalray.job.loader import build_job
from evalray.pipeline.runner import run_job
from evalray.runtime import ray_session
from evalray.testing.wrong_shape import WrongShapeServer
from tests.conftest import without_session_ray

pytestmark = pytest.mark.timeout(600)


def _files_containing(root: Path, secrets: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        except OSError:
            continue
        found += [f"{path}: {s.decode()[:12]}..." for s in secrets if s in data]
    return found


def test_env_var_and_api_key_secrets_stay_out_of_outputs_logs_and_ray_session(tmp_path, monkeypatch, capfd):
    import ray

    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    env_secret = f"envsecret-{uuid.uuid4().hex[:24]}"
    key_secret = f"sk-keysecret-{uuid.uuid4().hex[:24]}"
    monkeypatch.setenv("EVALRAY_TEST_ENV_SECRET", env_secret)
    monkeypatch.setenv("EVALRAY_TEST_API_KEY", key_secret)
    monkeypatch.setenv("EVALRAY_PROBE_SECRET", "unset")  # restored (removed) after the test
    first = next(iter(registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir="builtin:quickstart/gsm8k"))))

    def error_for(prompt: str):  # a server that echoes the key it was sent, as some do on a 401
        if first.input in prompt:
            return 401, json.dumps({"error": {"message": f"Incorrect API key provided: {key_secret}",
                                              "header": f"Authorization: Bearer {key_secret}"}}).encode()
        return None

    @ray.remote(num_cpus=0.1)
    def environment(name: str) -> str | None:
        import os

        return os.environ.get(name)

    with without_session_ray(), WrongShapeServer(lambda p: "ANSWER: 4", lambda p: False, error_for=error_for) as server:
        job = build_job({
            "name": "secrets", "output": str(tmp_path / "out"),
            "runtime_env": {"env_vars": {"EVALRAY_PROBE_SECRET": "${EVALRAY_TEST_ENV_SECRET}"}},
            "models": [{"name": "srv", "backend": "openai", "source": server.url, "chat": True,
                        "api_key_env": "EVALRAY_TEST_API_KEY", "resources": {"num_cpus": 0.25}, "max_retries": 0}],
            "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 6}],
        })
        with ray_session(None, runtime_env=job.runtime_env, num_cpus=2) as started:
            assert started, "this test needs an embedded Ray of its own"
            session = Path(ray._private.worker._global_node.get_session_dir_path())
            assert ray.get(environment.remote("EVALRAY_PROBE_SECRET")) == env_secret, "env_vars reach the workers"
            outcome = run_job(job, progress=False)
    printed = capfd.readouterr()
    assert server.auth_headers == {f"Bearer {key_secret}"}, "the key was used"
    errors = [c for c in outcome.result["counts"] if c["errors"]]
    assert errors and errors[0]["errors"] == 1

    import pandas as pd

    rows = pd.read_parquet(tmp_path / "out" / "samples" / "srv" / "gsm8k.parquet")
    stored = [e for e in rows["error"] if isinstance(e, str) and e]
    assert len(stored) == 1 and "HTTP 401" in stored[0] and "***" in stored[0], stored

    secrets = [env_secret.encode(), key_secret.encode()]
    assert session.is_dir() and any(session.rglob("*.log"))
    assert _files_containing(tmp_path / "out", secrets) == []
    assert _files_containing(session, secrets) == [], "the Ray session logs hold a secret"
    for stream in (printed.out, printed.err):
        assert env_secret not in stream and key_secret not in stream
