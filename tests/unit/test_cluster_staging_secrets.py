"""``evalray submit`` uploads only what a job needs: a data_dir holding ``.ssh/id_rsa``, ``.aws/credentials``,
``.env``, a ``*.pem`` and a ``credentials.json`` is staged without any of them (each listed as left out), the real
data is listed with its file count, and a job naming a credential directly is refused. No cluster needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalray.cluster import staging
from evalray.errors import ConfigError, redact

SECRET = "-----BEGIN OPENSSH PRIVATE KEY----- not-for-upload"


def _job(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(f"name: staged\nmodels:\n  - {{name: r, backend: simulated, source: x}}\n"
                    f"benchmarks:\n  - {{name: gsm8k, data_dir: '{data_dir}', limit: 3}}\n")
    return path


def test_dotfiles_and_credentials_are_not_uploaded(tmp_path):
    data = tmp_path / "home-like" / "gsm8k"
    (data / ".ssh").mkdir(parents=True)
    (data / ".ssh" / "id_rsa").write_text(SECRET)
    (data / ".aws").mkdir()
    (data / ".aws" / "credentials").write_text(SECRET)
    (data / ".env").write_text(f"OPENAI_API_KEY={SECRET}")
    (data / "server.pem").write_text(SECRET)
    (data / "nested").mkdir()
    (data / "nested" / "id_ed25519").write_text(SECRET)
    (data / "nested" / "credentials.json").write_text(SECRET)
    (data / "test.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    (data / "nested" / "more.jsonl").write_text("{}\n")
    staged = staging.stage_job(_job(tmp_path, data), [], "sub-1", tmp_path / "stage")
    files = sorted(str(p.relative_to(staged.working_dir)) for p in staged.working_dir.rglob("*") if p.is_file())
    assert files == ["data/0-gsm8k/nested/more.jsonl", "data/0-gsm8k/test.jsonl", "job.yaml"]
    for path in staged.working_dir.rglob("*"):
        assert not path.is_file() or SECRET not in path.read_text(errors="ignore")
    assert staged.uploaded == [f"{data} -> data/0-gsm8k (2 files)"]
    left_out = {Path(p).name for p in staged.skipped}
    assert left_out == {".ssh", ".aws", ".env", "server.pem", "id_ed25519", "credentials.json"}
    assert {".?*", "id_rsa*", "*.pem"} <= set(staged.runtime_env["excludes"])  # and Ray leaves them out too
    from ray._private.runtime_env.packaging import _get_excludes

    excluded = _get_excludes(staged.working_dir, staged.runtime_env["excludes"])
    assert not excluded(staged.working_dir) and not excluded(staged.working_dir / staged.job_file)


def test_a_job_naming_a_credential_directly_is_refused(tmp_path):
    ssh = tmp_path / ".ssh"
    ssh.mkdir()
    (ssh / "id_rsa").write_text(SECRET)
    with pytest.raises(ConfigError, match="looks like a credential"):
        staging.stage_job(_job(tmp_path, ssh), [], "sub-2", tmp_path / "stage")


@pytest.mark.parametrize("text,secret", [
    ('HTTP 401: {"error": "Incorrect API key provided: sk-proj-abcdef1234567890XYZ"}', "sk-proj-abcdef1234567890XYZ"),
    ("Authorization: Bearer abcdefghijklmnop123456", "abcdefghijklmnop123456"),
    ("token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    ("session 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "9f86d081884c7d659a2feaa0c55ad015"),
    ("key: dGhpcyBpcyBhIHNlY3JldCB0b2tlbiAxMjM0NTY3ODkw", "dGhpcyBpcyBhIHNlY3JldCB0b2tlbiAxMjM0NTY3ODkw"),
    ('{"api_key": "plainpassword!"}', "plainpassword!"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
])
def test_error_bodies_are_redacted(text, secret):
    assert secret not in redact(text) and "***" in redact(text)


def test_redaction_keeps_ordinary_errors_readable():
    for text in ("HTTP 500: model not found", "rate limit exceeded, retry after 20s",
                 "http://127.0.0.1:8000/v1/chat/completions timed out", "ClientConnectorError: Cannot connect"):
        assert redact(text) == text
