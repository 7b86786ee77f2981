"""``evalray run`` of a ``kind: opencompass`` job whose OpenCompass environment cannot be installed (no package
index): one line naming the version, a non-zero exit, before any Ray or model work."""

from __future__ import annotations

import os

import yaml

from tests.conftest import run_cli


def test_uninstallable_opencompass_is_one_line(tmp_path):
    job = {"name": "oc", "kind": "opencompass", "output": str(tmp_path / "run"),
           "models": [{"name": "m", "backend": "openai", "source": "http://127.0.0.1:9/v1", "model_id": "m"}],
           "opencompass": {"datasets": ["siqa_gen"], "env_dir": str(tmp_path / "envs")}}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    done = run_cli("run", str(tmp_path / "job.yaml"), timeout=600,
                   env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PIP_CONFIG_FILE": os.devnull})
    assert done.returncode == 1, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: could not install OpenCompass 0.5.4"), done.stderr
    assert "log:" in lines[0] and not (tmp_path / "run" / "result.json").exists()
