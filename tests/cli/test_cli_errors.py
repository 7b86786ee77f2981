"""Every bad input gives one clear line and a non-zero exit, never a traceback (the CLI in a subprocess)."""

from __future__ import annotations

import pytest

from tests.conftest import free_port, run_cli

JOB = """
name: bad
models:
  - name: m
    backend: {backend}
    source: {source}
benchmarks:
  - name: {benchmark}
    data_dir: builtin:quickstart/gsm8k
output: {output}
"""


def job_file(tmp_path, backend="replay", source="x.jsonl", benchmark="gsm8k", extra=""):
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(backend=backend, source=source, benchmark=benchmark, output=tmp_path / "out") + extra)
    return path


def assert_one_line_error(result, code, *fragments):
    assert result.returncode == code, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_file(tmp_path):
    assert_one_line_error(run_cli("run", str(tmp_path / "nope.yaml")), 2, "no such job file")


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text("name: x\nmodels: [\n")
    assert_one_line_error(run_cli("validate", str(path)), 2, "YAML syntax error")


def test_unknown_key(tmp_path):
    path = job_file(tmp_path, extra="outptu: x\n")
    assert_one_line_error(run_cli("run", str(path)), 2, "outptu: unknown key 'outptu' (did you mean 'output'?)")


def test_wrong_type(tmp_path):
    assert_one_line_error(run_cli("run", str(job_file(tmp_path)), "-S", "models.0.replicas=two"), 2,
                          "models.0.replicas", "valid integer")


def test_unknown_benchmark(tmp_path):
    assert_one_line_error(run_cli("validate", str(job_file(tmp_path, benchmark="mmlu_pro_max"))), 2,
                          "unknown benchmark 'mmlu_pro_max'")


def test_unreachable_openai_server(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = run_cli("run", str(job_file(tmp_path, backend="openai", source=url)), timeout=60)
    assert_one_line_error(result, 1, "cannot reach", url)


def test_missing_replay_file(tmp_path):
    assert_one_line_error(run_cli("run", str(job_file(tmp_path, source=str(tmp_path / "none.jsonl")))), 1,
                          "does not exist")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["benchmarks"], ["benchmarks", "show", "mmlu"]])
def test_help_and_listing(args):
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_validate_ok(tmp_path):
    result = run_cli("validate", str(job_file(tmp_path)))
    assert result.returncode == 0 and "ok:" in result.stdout
