"""``kind: opencompass`` end to end: OpenCompass 0.5.4 itself, in its cached isolated environment, runs obqa_gen
(openbookqa, openbookqa_fact) and SuperGLUE_CB_gen from the local bundle against a scripted OpenAI-compatible server on 127.0.0.1, each config a Ray task; the
scores in result.json equal OpenCompass's own results JSON and summary CSV of that run, and what the script's
answers earn on the bundle's gold labels.

Skips with a reason when the bundle is absent, or when the environment is not cached yet and no package index
serves opencompass (the first run installs it, minutes; later runs reuse it)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, run_cli, shared_data

LIMIT = 20
INSTALL_TIMEOUT_S = 900  # a first install slower than this skips (with the reason) instead of failing the suite
# the first test may build the environment (minutes), then runs OpenCompass (run_cli's own limit is 1200 s)
pytestmark = pytest.mark.timeout(INSTALL_TIMEOUT_S + 1500)


_UNAVAILABLE: list[str] = []  # why the environment could not be prepared: the later tests skip at once


def ready_env() -> Path:
    if _UNAVAILABLE:
        pytest.skip(_UNAVAILABLE[0])
    try:
        return _prepare_env()
    except pytest.skip.Exception as exc:
        _UNAVAILABLE.append(str(exc.msg))
        raise


def _prepare_env() -> Path:
    from evalray.errors import BackendError
    from evalray.pipeline.opencompass_env import OPENCOMPASS_VERSION, ensure_env, env_dir, is_ready

    if not is_ready(env_dir()):
        with tempfile.TemporaryDirectory() as scratch:  # a quick look at the index: no retries, short timeouts
            probe = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--retries", "0",
                                    "--timeout", "10", "-d", scratch, f"opencompass=={OPENCOMPASS_VERSION}"],
                                   capture_output=True, text=True, timeout=120)
        if probe.returncode != 0:
            pytest.skip(f"the OpenCompass environment is not cached and no package index serves "
                        f"opencompass=={OPENCOMPASS_VERSION}: {(probe.stderr.strip().splitlines() or [''])[-1][:200]}")
    try:
        return ensure_env(timeout_s=INSTALL_TIMEOUT_S)
    except BackendError as exc:
        pytest.skip(f"the OpenCompass environment cannot be prepared: {exc}")


def always_a_scores(bundle: Path) -> dict[str, float]:
    """Accuracy (percent) of answering 'A' to the first LIMIT items, from the bundle's gold labels."""
    cb = [json.loads(line)["label"] for line in
          (bundle / "SuperGLUE" / "CB" / "val.jsonl").read_text().splitlines()[:LIMIT]]
    main = [json.loads(line)["answerKey"] for line in
            (bundle / "openbookqa" / "Main" / "test.jsonl").read_text().splitlines()[:LIMIT]]
    fact = [json.loads(line)["answerKey"] for line in
            (bundle / "openbookqa" / "Additional" / "test_complete.jsonl").read_text().splitlines()[:LIMIT]]
    return {"CB": 100 * cb.count("contradiction") / LIMIT, "openbookqa": 100 * main.count("A") / LIMIT,
            "openbookqa_fact": 100 * fact.count("A") / LIMIT}


def matches_opencompass(run: Path, model: str, datasets: set[str], configs: int) -> dict[str, dict]:
    """result.json's accuracy rows of ``model``, checked against OpenCompass's own numbers for the run: its results
    JSON (full precision) and its summary CSV (2 decimals), one summary per dataset config."""
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed" and result["env"]["opencompass"] == "0.5.4", result.get("error")
    ours = {r["benchmark"].removeprefix("opencompass:"): r for r in result["scores"]
            if r["metric"] == "accuracy" and r["model"] == model}
    assert set(ours) == datasets
    summaries = sorted((run / "opencompass").glob(f"{model}/*/outputs/*/summary/summary_*.csv"))
    assert len(summaries) == configs, summaries
    table = {}
    for path in summaries:
        for row in csv.DictReader(path.open()):
            table[row["dataset"]] = float(row[model])
        for file in (path.parent.parent / "results" / model).glob("*.json"):
            assert ours[file.stem]["value"] * 100 == pytest.approx(json.loads(file.read_text())["accuracy"], abs=1e-9)
    assert set(table) == datasets
    for name, row in ours.items():
        assert round(row["value"] * 100, 2) == pytest.approx(table[name], abs=1e-9), name
    return ours


@pytest.mark.slow
def test_opencompass_obqa_cb_match_opencompass_summary(tmp_path):
    from evalray.testing.scripted_chat import ScriptedChat

    bundle = shared_data("opencompass/data")
    ready_env()
    with ScriptedChat(lambda prompt: "A") as server:
        job = {"name": "oc-e2e", "kind": "opencompass", "output": str(tmp_path / "run"),
               "models": [{"name": "scripted", "backend": "openai", "source": server.url, "model_id": "scripted"}],
               "opencompass": {"datasets": ["obqa_gen", "SuperGLUE_CB_gen"], "data_dir": str(bundle), "limit": LIMIT,
                               "max_out_len": 16, "batch_size": 4}}
        (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
        done = run_cli("run", str(tmp_path / "job.yaml"), "-q", timeout=1200)
        prompts = list(server.prompts)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert len(prompts) == 3 * LIMIT  # openbookqa, openbookqa_fact, CB: LIMIT items each
    assert any(p.startswith("Given the fact:") for p in prompts) and any("\nA. " in p for p in prompts)
    ours = matches_opencompass(tmp_path / "run", "scripted", {"CB", "openbookqa", "openbookqa_fact"}, 2)
    assert all(r["n"] == LIMIT for r in ours.values())
    assert all(r["ci_low"] < r["value"] < r["ci_high"] and r["stderr"] > 0 for r in ours.values())
    assert {k: round(v["value"] * 100, 6) for k, v in ours.items()} == pytest.approx(always_a_scores(bundle))


@pytest.mark.slow
def test_opencompass_against_a_model_evalray_serves(tmp_path):
    """backend: serve: evalray deploys builtin:tiny-llama (hf engine) with Ray Serve and OpenCompass talks to its
    URL (random weights: the score is whatever OpenCompass's postprocessor makes of the text, and it must be the
    same number in result.json and in OpenCompass's own summary)."""
    bundle = shared_data("opencompass/data")
    ready_env()
    job = {"name": "oc-serve", "kind": "opencompass", "output": str(tmp_path / "run"),
           "models": [{"name": "tiny", "backend": "serve", "source": "builtin:tiny-llama", "chat": True,
                       "dtype": "float32", "resources": {"num_cpus": 0.5},
                       "serving": {"engine": "hf", "port": free_port(), "app_name": "evalray-oc-test"}}],
           "opencompass": {"datasets": ["SuperGLUE_CB_gen"], "data_dir": str(bundle), "limit": 8, "max_out_len": 8,
                           "batch_size": 4, "max_seq_len": 2048}}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    done = run_cli("run", str(tmp_path / "job.yaml"), "-q", timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    ours = matches_opencompass(tmp_path / "run", "tiny", {"CB"}, 1)
    assert ours["CB"]["n"] == 8


@pytest.mark.slow
def test_opencompass_against_evalray_mock_server(tmp_path):
    """``evalray mock-server --answers``: the gold letter scripted for the even CB items (keyed by OpenCompass's
    prompt, which is the CB config's template), nothing for the odd ones (the mock's 'tok' words, which OpenCompass's
    first_option_postprocess reads as no answer): accuracy exactly one half, in result.json and OpenCompass's own
    summary."""
    from evalray.testing.process import mock_server_process

    bundle = shared_data("opencompass/data")
    ready_env()
    rows = [json.loads(line) for line in (bundle / "SuperGLUE" / "CB" / "val.jsonl").read_text().splitlines()[:LIMIT]]
    letter = {"contradiction": "A", "entailment": "B", "neutral": "C"}
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps({
        "prompt": f"{r['premise']}\n{r['hypothesis']}\nWhat is the relation between the two sentences?\n"
                  "A. Contradiction\nB. Entailment\nC. Neutral\nAnswer:", "answer": letter[r["label"]]}) + "\n"
        for i, r in enumerate(rows) if i % 2 == 0))
    with mock_server_process("--answers", str(answers), "--model", "mock") as url:
        job = {"name": "oc-mock", "kind": "opencompass", "output": str(tmp_path / "run"),
               "models": [{"name": "mock", "backend": "openai", "source": url}],
               "opencompass": {"datasets": ["SuperGLUE_CB_gen"], "data_dir": str(bundle), "limit": LIMIT,
                               "max_out_len": 4, "batch_size": 4}}
        (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
        done = run_cli("run", str(tmp_path / "job.yaml"), "-q", timeout=1200)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    ours = matches_opencompass(tmp_path / "run", "mock", {"CB"}, 1)
    assert ours["CB"]["value"] == pytest.approx(0.5) and ours["CB"]["n"] == LIMIT
