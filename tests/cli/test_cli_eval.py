"""`evalray eval` end to end in a subprocess (tiny-llama, 5 GSM8K problems), --dry-run accepted by `evalray
validate`, and a malformed dataset file of a job: one line on stderr, exit code 2."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.timeout(300)

QUICK = ["--model", "builtin:tiny-llama", "--benchmarks", "gsm8k", "--limit", "5"]
LOCAL = ["--data-dir", "builtin:quickstart"]  # the GSM8K problems shipped in the package: no network


def test_eval_one_line_runs_the_tiny_model(tmp_path):
    out = tmp_path / "quick"
    done = run_cli("eval", *QUICK, *LOCAL, "-o", str(out), "-q", "-S", "models.0.resources.num_cpus=0.25",
                   "-S", "models.0.generation.max_tokens=16", "-S", "scoring.num_cpus=0.25")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "completed"
    assert result["counts"][0] | {"samples": 5, "errors": 0} == result["counts"][0]
    assert result["job"]["models"][0]["source"] == "builtin:tiny-llama" and f"results: {out}" in done.stdout


def test_dry_run_prints_a_job_that_validate_accepts(tmp_path):
    done = run_cli("eval", *QUICK, *LOCAL, "--backend", "hf", "--chat", "--replicas", "2", "-o", str(tmp_path / "r"),
                   "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "replicas: 2" in done.stdout and "chat: true" in done.stdout and not (tmp_path / "r").exists()
    job = tmp_path / "job.yaml"
    job.write_text(done.stdout)
    checked = run_cli("validate", str(job))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.rstrip().endswith(f"ok: {job} is a valid eval job")


def test_eval_with_a_bad_option_is_one_line_and_exit_2():
    done = run_cli("eval", "--model", "builtin:tiny-llama", "--benchmarks", "gsm9k", "--dry-run")
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: evalray eval: benchmarks.0.name: unknown benchmark 'gsm9k' "
                                   "(did you mean 'gsm8k'?)")


def test_a_malformed_dataset_file_is_one_line_naming_file_row_and_column(tmp_path):
    data = tmp_path / "quiz.csv"
    data.write_text("question,A,B,answer\nOne?,1,2,A\nTwo?,1,2,Z\n")
    job = tmp_path / "job.yaml"
    job.write_text(f"name: mine\nmodels: [{{name: r, backend: replay, source: {tmp_path / 'replay.jsonl'}}}]\n"
                   f"benchmarks: [{{name: quiz, type: general_mcq, path: {data}}}]\noutput: {tmp_path / 'out'}\n")
    (tmp_path / "replay.jsonl").write_text('{"id": "0", "output": "ANSWER: A"}\n')
    done = run_cli("run", str(job), "-q")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {data}: row 2, column 'answer': 'Z' is out of range for 2 choices (A-B or 0-1)"
