"""``evalray submit`` without a cluster, in process: staging of the working_dir, address resolution, the metadata,
failure summaries and downloads (the command in a subprocess: tests/cli/test_cli_cluster.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from evalray.cluster import jobs, staging, submit
from evalray.errors import ConfigError, EvalrayError
from evalray.job.loader import load_job

REPO = Path(__file__).resolve().parents[2]

JOB = """
name: staged
models:
  - {name: replayed, backend: replay, source: REPLAY}
benchmarks:
  - {name: gsm8k, data_dir: DATA, limit: 3}
  - {name: mmlu, data_dir: builtin:quickstart/mmlu}
runtime_env:
  pip: [boto3]
  env_vars: {EVALRAY_TEST: "1"}
"""


@pytest.fixture()
def job_file(tmp_path: Path) -> Path:
    data = tmp_path / "my data" / "gsm8k"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    (data / "__pycache__").mkdir()
    (data / "__pycache__" / "junk.pyc").write_bytes(b"x")
    replay = tmp_path / "answers.jsonl"
    replay.write_text('{"id": "x", "output": "2"}\n')
    path = tmp_path / "job.yaml"
    path.write_text(JOB.replace("REPLAY", str(replay)).replace("DATA", str(data)))
    return path


def test_stage_copies_local_files_and_rewrites_paths(job_file: Path, tmp_path: Path) -> None:
    staged = staging.stage_job(job_file, [], "sub-1", tmp_path / "stage")
    wd = staged.working_dir
    copy = yaml.safe_load((wd / staged.job_file).read_text())
    assert copy["benchmarks"][0]["data_dir"] == "data/0-gsm8k"
    assert (wd / "data/0-gsm8k/test.jsonl").is_file() and not (wd / "data/0-gsm8k/__pycache__").exists()
    assert copy["benchmarks"][1]["data_dir"] == "builtin:quickstart/mmlu"
    assert copy["models"][0]["source"] == "models/0-answers.jsonl"
    assert (wd / copy["models"][0]["source"]).read_text().startswith('{"id"')
    assert "runtime_env" not in copy
    assert staged.runtime_env["pip"] == ["boto3"] and staged.runtime_env["env_vars"] == {"EVALRAY_TEST": "1"}
    assert staged.runtime_env["working_dir"] == str(wd)
    assert staged.runtime_env["py_modules"] == [str(Path(staging.package_dir()))]
    assert "__pycache__" in staged.runtime_env["excludes"]
    cwd = os.getcwd()
    try:  # the copy is a valid job when run from inside the working_dir, as on the cluster
        os.chdir(wd)
        assert load_job(staged.job_file).benchmarks[0].data_dir == "data/0-gsm8k"
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("output,expected", [
    ("runs/${name}", "${HOME:-/tmp}/evalray-submissions/sub-1/runs/staged"),
    ("/abs/results", "/abs/results"),
    ("s3://bucket/x", "s3://bucket/x"),
    ("file:///data/x", "file:///data/x"),
])
def test_output_on_the_cluster(job_file: Path, tmp_path: Path, output: str, expected: str) -> None:
    staged = staging.stage_job(job_file, [f"output={output}"], "sub-1", tmp_path / "stage")
    assert staged.output == expected
    assert yaml.safe_load((staged.working_dir / staged.job_file).read_text())["output"] == expected


def test_output_option_and_no_package(job_file: Path, tmp_path: Path) -> None:
    staged = staging.stage_job(job_file, [], "s", tmp_path / "stage", output="out", upload_package=False)
    assert staged.output == "${HOME:-/tmp}/evalray-submissions/s/out"
    assert "py_modules" not in staged.runtime_env


def test_bad_jobs_fail_before_anything_is_staged(job_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="models.0.replicas"):
        staging.stage_job(job_file, ["models.0.replicas=0"], "s", tmp_path / "a")
    with pytest.raises(ConfigError, match="runtime_env.working_dir"):
        staging.stage_job(job_file, ["runtime_env.working_dir=."], "s", tmp_path / "b")
    with pytest.raises(ConfigError, match="benchmarks.0.data_dir"):
        staging.stage_job(job_file, ["benchmarks.0.data_dir=/nonexistent/dir"], "s", tmp_path / "c")
    with pytest.raises(ConfigError, match="cannot be used on a cluster"):
        staging.stage_job(job_file, ["output=../escape"], "s", tmp_path / "d")


def test_submission_id_is_readable() -> None:
    sid = submit.new_submission_id("My Job_2")
    assert sid.startswith("evalray-my-job-2-") and len(sid.split("-")) == 7


def test_address_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in jobs.ADDRESS_ENV:
        monkeypatch.delenv(key, raising=False)
    assert jobs.resolve_address(None) == "http://127.0.0.1:8265"
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:8265")
    assert jobs.resolve_address(None) == "http://10.0.0.1:8265"
    assert jobs.resolve_address("https://head:443/") == "https://head:443"
    with pytest.raises(EvalrayError, match="Ray Client address"):
        jobs.resolve_address("ray://head:10001")


def test_shell_path_quotes_everything_but_the_home_prefix() -> None:
    assert submit.shell_path("${HOME:-/tmp}/a b") == "\"${HOME:-/tmp}\"'/a b'"
    assert submit.shell_path("/x/$(rm -rf)") == "'/x/$(rm -rf)'"


def test_failure_summary_keeps_ray_reason_and_the_driver_error() -> None:
    message = ("Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n"
               "Running entrypoint for job x: python -m evalray.cli.main run job.yaml --address auto\n"
               "error: model 'm': cannot reach http://127.0.0.1:9/v1/models (Connection refused)\n")
    assert jobs.failure_summary(message) == ("Job entrypoint command failed with exit code 1 "
                                             "(model 'm': cannot reach http://127.0.0.1:9/v1/models (Connection refused))")
    assert jobs.failure_summary("Job was intentionally stopped.") == "Job was intentionally stopped."
    assert jobs.failure_summary(None) == "see the logs above"


def test_perf_jobs_stage_their_prompt_data(tmp_path: Path) -> None:
    data = tmp_path / "prompts"
    data.mkdir()
    (data / "test.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n')
    job = tmp_path / "perf.yaml"
    job.write_text("kind: perf\nname: load\ntarget: {url: 'http://10.0.0.9:8000/v1', model: m}\n"
                   f"prompts: {{dataset: gsm8k, data_dir: {data}}}\nload: {{concurrency: [4], num_requests: 10}}\n")
    staged = staging.stage_job(job, [], "sid", tmp_path / "stage")
    copy = yaml.safe_load((staged.working_dir / staged.job_file).read_text())
    assert copy["prompts"]["data_dir"] == "data/prompts-prompts"
    assert (staged.working_dir / "data/prompts-prompts/test.jsonl").is_file()
    meta = submit.metadata(staged, str(job))
    assert meta["evalray.kind"] == "perf" and meta["evalray.models"] == "m @ http://10.0.0.9:8000/v1"


def test_download_from_a_filesystem_uri(tmp_path: Path) -> None:
    """Results at a URI are copied with pyarrow (file:// stands in for s3:// and gs:// here)."""
    source = tmp_path / "bucket" / "run"
    (source / "samples" / "m").mkdir(parents=True)
    (source / "result.json").write_text("{}")
    (source / "samples" / "m" / "b.parquet").write_bytes(b"PAR1")
    target = submit._download_uri(f"file://{source}", tmp_path / "dl")
    assert (target / "result.json").read_text() == "{}" and (target / "samples/m/b.parquet").read_bytes() == b"PAR1"
    with pytest.raises(EvalrayError, match="cannot download"):
        submit._download_uri(f"file://{tmp_path}/missing", tmp_path / "dl2")
