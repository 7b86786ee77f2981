"""``evalray run`` of a ``kind: opencompass`` job whose OpenCompass environment cannot be installed (no package
index): one line naming the version, a non-zero exit, before any Ray or model work."""

from __future__ import annotations

import os

import pytest
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


def write_job(tmp_path, **opencompass):
    job = {"name": "oc", "kind": "opencompass", "output": str(tmp_path / "run"),
           "models": [{"name": "m", "backend": "openai", "source": "http://127.0.0.1:9/v1", "model_id": "m"}],
           "opencompass": {"datasets": ["siqa_gen"], **opencompass}}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    return str(tmp_path / "job.yaml")


def test_missing_data_dir_is_one_line_before_any_install(tmp_path):
    done = run_cli("run", write_job(tmp_path, data_dir=str(tmp_path / "nope"), env_dir=str(tmp_path / "envs")))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "opencompass.data_dir:" in done.stderr and not (tmp_path / "envs").exists()


def test_unknown_dataset_config_is_one_line_with_a_suggestion(tmp_path):
    from evalray.pipeline.opencompass_env import env_dir, is_ready

    if not is_ready(env_dir()):
        pytest.skip("the OpenCompass environment is not cached (tests/data/test_pipeline_opencompass_backend.py "
                    "prepares it)")
    done = run_cli("run", write_job(tmp_path, datasets=["siqa_gne"]))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "has no dataset config 'siqa_gne' (did you mean 'siqa_gen'?)" in done.stderr
