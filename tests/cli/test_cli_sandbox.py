"""``evalray run`` on HumanEval through the sandbox: canonical completions pass; when the sandbox refuses to run
(``EVALRAY_SANDBOX_REQUIRE`` asks for something it cannot give), the run stops with one line, not one error per
sample."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli, shared_data

JOB = """
name: sandbox-cli
models:
  - name: canonical
    backend: replay
    source: {replay}
benchmarks:
  - name: humaneval
    data_dir: {data}
    limit: 4
output: {output}
"""


def _job(tmp_path: Path) -> Path:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    data = shared_data("humaneval")
    bench = registry.get("humaneval")
    samples = [s for s, _, _ in bench.requests(BenchmarkSpec(name="humaneval", data_dir=str(data)), chat=False, seed=0)]
    replay = tmp_path / "humaneval.jsonl"
    replay.write_text("".join(json.dumps({"id": s.id, "output": s.target}) + "\n" for s in samples[:4]))
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(replay=replay, data=data, output=tmp_path / "out"))
    return path


def test_canonical_completions_pass_and_a_refusing_sandbox_stops_the_run_in_one_line(tmp_path):
    job = _job(tmp_path)
    ok = run_cli("run", str(job), "-S", f"output={tmp_path / 'ok'}", env={"EVALRAY_SANDBOX_REQUIRE": "best_effort"})
    assert ok.returncode == 0, ok.stderr[-2000:]
    result = json.loads((tmp_path / "ok" / "result.json").read_text())
    [score] = [s for s in result["scores"] if s["metric"] == "pass@1" and s["level"] == "overall"]
    assert (score["value"], score["n"]) == (1.0, 4), score
    refused = run_cli("run", str(job), env={"EVALRAY_SANDBOX_REQUIRE": "paranoid"})
    assert refused.returncode != 0
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "sandbox: require must be 'strict' or 'best_effort'" in lines[0], refused.stderr
    assert "Traceback" not in refused.stderr
