"""Crash and resume, through the real CLI in subprocesses.

* openai backend, 500 GSM8K samples: the driver is SIGKILLed 10 times at random points (after a random number of
  scored parts reached disk), each time resumed; the final result.json scores equal an uninterrupted run's, and the
  test server never receives a request for a sample that was already scored on disk when a kill happened.
* hf backend (the tiny model), 500 samples: killed twice at random points, continued, same scores as uninterrupted.
* SIGTERM: partial results written, exit code 143; a different job is refused by --resume in one line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evalray.testing.fake_openai import FakeOpenAI
from tests.conftest import ROOT, shared_data

pytestmark = pytest.mark.timeout(1200)
SAMPLES = 500


def answer(prompt: str) -> str:
    """Deterministic answers: about half end in the prompt's own number pattern, half in nonsense."""
    digest = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    return f"The answer is {digest % 7}.\n\nQuestion:" if digest % 2 else "I do not know.\n\nQuestion:"


def write_job(path: Path, output: Path, model: dict, limit: int) -> Path:
    """A GSM8K job whose scored rows arrive in parts of 16 (many kill points)."""
    job = {"name": "resume-test", "output": str(output), "models": [model],
           "benchmarks": [{"name": "gsm8k", "data_dir": str(shared_data("gsm8k")), "limit": limit, "max_tokens": 16}],
           "scoring": {"num_cpus": 0.25, "batch_size": 16}}
    path.write_text(json.dumps(job))
    return path


def start(job: Path, *extra: str) -> subprocess.Popen:
    """``evalray run JOB -q`` in its own session, its output in a log file beside the job (a pipe nobody reads
    would stall it)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(job.with_suffix(f".{time.monotonic_ns()}.log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "evalray.cli.main", "run", str(job), "-q", *extra], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log_path = log.name  # type: ignore[attr-defined]
    log.close()
    return process


def output_of(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def scored_on_disk(output: Path) -> set[str]:
    done = set()
    for part in sorted((output / "parts").glob("part-*.parquet")) if (output / "parts").is_dir() else []:
        table = pq.read_table(part, columns=["uid", "error"])
        done |= {row["uid"] for row in table.to_pylist() if not row["error"]}
    return done


def kill_after_parts(process: subprocess.Popen, output: Path, parts: int, timeout_s: float = 300) -> bool:
    """SIGKILL the whole run (driver and its Ray) once ``parts`` more scored parts are on disk; False when the run
    finished by itself first."""
    deadline = time.monotonic() + timeout_s
    folder = output / "parts"
    before = len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0
    while time.monotonic() < deadline and process.poll() is None:
        now = len(list(folder.glob("part-*.parquet"))) if folder.is_dir() else 0
        if now - before >= parts:
            break
        time.sleep(0.05)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return killed


def finish(process: subprocess.Popen, timeout_s: float = 600) -> str:
    process.wait(timeout=timeout_s)
    out = output_of(process)
    assert process.returncode in (0, 3), out[-3000:]
    return out


def headline(output: Path) -> dict:
    result = json.loads((output / "result.json").read_text())
    return {(r["model"], r["benchmark"], r["metric"], r["subset"]): (r["value"], r["n"]) for r in result["scores"]}


def test_openai_run_killed_ten_times_resumes_to_the_same_scores_without_asking_twice(tmp_path):
    rng = random.Random(7)
    with FakeOpenAI(answer, delay_s=0.01) as server:
        model = {"name": "api", "backend": "openai", "source": server.url, "concurrency": 2, "batch_size": 8,
                 "resources": {"num_cpus": 0.25}}
        reference = tmp_path / "reference"
        finish(start(write_job(tmp_path / "ref.json", reference, model, SAMPLES)))
        server.bodies.clear(), server.arrivals.clear()
        output = tmp_path / "killed"
        job = write_job(tmp_path / "job.json", output, model, SAMPLES)
        kills: list[tuple[float, set[str]]] = []
        for _ in range(10):
            assert kill_after_parts(start(job), output, parts=rng.randint(1, 2)), "the run ended before its kill"
            kills.append((time.time(), scored_on_disk(output)))
        finish(start(job, "--resume"))
        bodies, arrivals = list(server.bodies), list(server.arrivals)
    assert json.loads((output / "result.json").read_text())["status"] == "completed"
    assert headline(output) == headline(reference)
    assert len(kills[-1][1]) > 0, "no kill happened after some samples were scored"
    prompt_of = {}
    for part in (output / "parts").glob("part-*.parquet"):
        for row in pq.read_table(part, columns=["uid", "prompt"]).to_pylist():
            prompt_of[row["uid"]] = row["prompt"]
    asked_after = {}
    for body, at in zip(bodies, arrivals):
        asked_after.setdefault(body["prompt"], []).append(at)
    for killed_at, scored in kills:
        again = [uid for uid in scored if any(t > killed_at for t in asked_after.get(prompt_of[uid], []))]
        assert again == [], f"{len(again)} samples scored before a kill were asked again, e.g. {again[:3]}"


def test_hf_run_killed_twice_resumes_to_the_same_scores(tmp_path):
    rng = random.Random(11)
    model = {"name": "tiny", "backend": "hf", "source": "builtin:tiny-llama", "batch_size": 16,
             "resources": {"num_cpus": 0.5}, "generation": {"max_tokens": 8}}
    reference = tmp_path / "reference"
    finish(start(write_job(tmp_path / "ref.json", reference, model, SAMPLES)))
    output = tmp_path / "killed"
    job = write_job(tmp_path / "job.json", output, model, SAMPLES)
    for _ in range(2):
        assert kill_after_parts(start(job), output, parts=rng.randint(1, 6)), "the run ended before its kill"
    assert 0 < len(scored_on_disk(output)) < SAMPLES
    finish(start(job))  # no --resume: an unfinished run of the same job is continued anyway
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["resumed"] and manifest["state"] == "completed"
    assert headline(output) == headline(reference)


def test_sigterm_writes_partial_results_and_a_different_job_is_refused(tmp_path):
    with FakeOpenAI(answer, delay_s=0.05) as server:
        model = {"name": "api", "backend": "openai", "source": server.url, "concurrency": 1, "batch_size": 4,
                 "resources": {"num_cpus": 0.25}}
        output = tmp_path / "out"
        job = write_job(tmp_path / "job.json", output, model, 200)
        process = start(job)
        folder = output / "parts"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (folder.is_dir() and any(folder.glob("part-*.parquet"))):
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=120)
        out = output_of(process)
        assert process.returncode == 143, out[-2000:]
        assert "stopped by SIGTERM; partial results in" in out
        result = json.loads((output / "result.json").read_text())
        assert result["status"] == "failed" and result["error"] == "interrupted"
        assert 0 < sum(c["samples"] for c in result["counts"]) < 200
        other = write_job(tmp_path / "other.json", output, {**model, "generation": {"temperature": 0.5}}, 200)
        refused = subprocess.run([sys.executable, "-m", "evalray.cli.main", "run", str(other), "--resume", "-q"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: --resume: the job differs from the run in {output}: settings of model api changed"]
