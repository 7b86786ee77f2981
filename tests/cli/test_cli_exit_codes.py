"""Exit codes that tell the truth: completed 0, partial 3 (0 with --allow-partial), every sample errored 1."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.timeout(600)


def job_file(tmp_path, replay_lines: list[dict]) -> str:
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(line) + "\n" for line in replay_lines))
    job = {"name": "codes", "models": [{"name": "rec", "backend": "replay", "source": str(replay)}],
           "benchmarks": [{"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k", "limit": 10}],
           "scoring": {"num_cpus": 0.25}}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return str(path)


def test_partial_exits_3_unless_allowed_and_all_errored_exits_1(tmp_path):
    half = [{"id": str(i), "output": "The answer is 1."} for i in range(5)]  # ids 5-9 have no recorded output
    partial = run_cli("run", job_file(tmp_path, half), "-q", "-S", f"output={tmp_path / 'p'}", "--fresh")
    assert partial.returncode == 3, partial.stderr[-2000:]
    assert partial.stderr.strip().splitlines()[-1] == "error: run partial: 5 samples errored, 0 missing (--allow-partial to exit 0)"
    allowed = run_cli("run", job_file(tmp_path, half), "-q", "-S", f"output={tmp_path / 'a'}", "--allow-partial")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    nothing = run_cli("run", job_file(tmp_path, [{"id": "unrelated", "output": "x"}]), "-q", "-S",
                      f"output={tmp_path / 'n'}")
    assert nothing.returncode == 1, nothing.stderr[-2000:]
    assert "every sample errored" in nothing.stderr.strip().splitlines()[-1]
    result = json.loads((tmp_path / "n" / "result.json").read_text())
    assert result["status"] == "failed" and result["error"].startswith("every sample errored")
