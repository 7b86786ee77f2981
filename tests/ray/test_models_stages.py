"""Every backend's Ray Data stage, fed request rows with every field set: each row comes back once with every
input column unchanged and the generation columns typed as :mod:`evalray.rows` declares; the openai stage sends
what each request field says (per-option contexts, the first four stop strings, the token cap, ``n``) and cuts
answers at every stop string."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from evalray import rows
from evalray.testing.fake_openai import FakeOpenAI
from evalray.types import Request, Sample

pytestmark = pytest.mark.timeout(600)
STOPS = ("\n\n", "Q:", "</s>", "###", "FIFTH")  # five: one past what the OpenAI API accepts


def sample(i: int) -> Sample:
    return Sample(id=str(i), benchmark="roundtrip", subset="s", input=f"input {i}", target="1",
                  choices=("yes", "no"), metadata={"i": i})


def full_rows() -> list[dict]:
    out = []
    for i in range(6):
        out.append(rows.request_row(sample(i), Request(
            kind="loglikelihood", prompt="unused when contexts are given", continuations=(" yes", " no"),
            contexts=(f"left {i}:", f"right {i}:"), uid=f"roundtrip::{i}"), "m", "loglikelihood"))
    for i in range(6, 12):
        out.append(rows.request_row(sample(i), Request(
            kind="generate", prompt=f"Question {i}?", stop=STOPS, max_tokens=7, repeats=2,
            uid=f"roundtrip::{i}"), "m", "generate"))
    return out


def run_stage(ray, spec_fields: dict, input_rows: list[dict]) -> list[dict]:
    from evalray.job.spec import parse_model_spec
    from evalray.models.registry import plugin_for

    spec = parse_model_spec({"name": "m", "replicas": 1, "resources": {"num_cpus": 0.25}, "batch_size": 4,
                             **spec_fields})
    table = rows.table_from_rows(input_rows)
    ds = plugin_for(spec).build_stage(ray.data.from_arrow([table.slice(0, 6), table.slice(6)]), spec)
    out = ds.take_all()
    assert sorted(r["uid"] for r in out) == sorted(r["uid"] for r in input_rows)  # each row once
    by_uid = {r["uid"]: r for r in input_rows}
    for row in out:
        original = _through_arrow(by_uid[row["uid"]])
        assert {k: row[k] for k in original} == original  # every input column unchanged
        generation = rows.decode_generation(row)
        assert row["served_by"]
        if row["kind"] == "loglikelihood" and not generation.error:
            assert len(generation.loglikelihoods) == 2
    return out


def _through_arrow(row: dict) -> dict:
    return rows.table_from_rows([row]).to_pylist()[0]


def test_openai_stage_sends_every_request_field(ray_session):
    answer = "The answer is 4.\nFIFTH and more"  # only the fifth stop string cuts this
    with FakeOpenAI(lambda prompt: answer) as server:
        out = run_stage(ray_session, {"backend": "openai", "source": server.url,
                                      "generation": {"max_tokens": 5, "stop": ["FIFTH"]}}, full_rows())
        bodies = list(server.bodies)
    echoed = sorted(b["prompt"] for b in bodies if b.get("echo"))
    assert echoed == sorted(f"{side} {i}:{c}" for i in range(6) for side, c in (("left", " yes"), ("right", " no")))
    generated = [b for b in bodies if not b.get("echo")]
    assert len(generated) == 6
    for body in generated:
        assert body["stop"] == list(STOPS[:4]) and body["max_tokens"] == 5 and body["n"] == 2
    for row in out:
        if row["kind"] == "generate":
            assert row["texts"] == ["The answer is 4.\n", "The answer is 4.\n"], row["texts"]
        else:  # the fake server's per-character log-probs of each option's own context + continuation
            assert row["error"] is None and row["loglikelihoods"][0] != row["loglikelihoods"][1]


def test_hf_stage_keeps_rows_and_honours_stops(ray_session):
    out = run_stage(ray_session, {"backend": "hf", "source": "builtin:tiny-llama", "dtype": "float32"}, full_rows())
    for row in out:
        assert row["error"] is None, row["error"]
        if row["kind"] == "generate":
            assert len(row["texts"]) == 2 and not any(s in t for t in row["texts"] for s in STOPS)


def test_replay_and_simulated_stages_keep_rows(ray_session, tmp_path):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps({"id": str(i), "output": f"recorded {i}"}) + "\n" for i in range(12)))
    generate_only = [r for r in full_rows() if r["kind"] == "generate"]
    out = run_stage(ray_session, {"backend": "replay", "source": str(replay)}, generate_only)
    assert all(r["texts"][0] == f"recorded {r['id']}" for r in out)
    out = run_stage(ray_session, {"backend": "simulated", "source": "sim", "service_time_s": 0.0}, full_rows())
    assert all(r["error"] is None for r in out)


def test_a_stage_fed_rows_without_the_schema_fails_in_one_line(ray_session):
    from evalray.job.spec import parse_model_spec
    from evalray.models.registry import plugin_for

    spec = parse_model_spec({"name": "m", "backend": "simulated", "source": "sim", "service_time_s": 0.0,
                             "resources": {"num_cpus": 0.25}})
    ds = plugin_for(spec).build_stage(ray_session.data.from_arrow(pa.table({"uid": ["a"], "kind": ["generate"]})), spec)
    from evalray.pipeline.runner import one_line_error as _one_line

    with pytest.raises(Exception, match="input rows have no 'id' column") as info:
        ds.take_all()
    assert _one_line(info.value) == ("generate stage of model 'm': input rows have no 'id' column "
                                     "(see evalray.rows)")
