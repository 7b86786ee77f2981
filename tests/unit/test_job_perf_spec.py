"""``kind: perf`` job files and the job base both kinds share (evalray/job/base.py)."""

from __future__ import annotations

import pytest

from evalray.errors import ConfigError
from evalray.job.base import JobBase
from evalray.job.loader import build_job, load_job
from evalray.job.perf_spec import PerfJobSpec
from evalray.job.spec import JobSpec


def test_perf_job_file(tmp_path):
    job = tmp_path / "perf.yaml"
    job.write_text("kind: perf\nname: smoke\ntarget: {url: 'http://127.0.0.1:8000/v1', model: m}\n"
                   "load: {rate: [10, 20], duration_s: 2}\nslo: {ttft_p99: 500ms}\n")
    spec = load_job(job, ["fleet.workers=3"])
    assert isinstance(spec, PerfJobSpec)
    assert spec.output == "runs/smoke" and spec.fleet.workers == 3 and spec.load.rate == [10.0, 20.0]
    with pytest.raises(ConfigError, match="unknown key 'concurency'"):
        load_job(job, ["load.concurency=4"])


PERF = {"kind": "perf", "name": "load", "target": {"url": "http://127.0.0.1:8000/v1", "model": "m"}}


def test_perf_jobs_take_the_shared_fields():
    spec = build_job({**PERF, "description": "nightly", "seed": 7, "ray": {"address": "auto", "namespace": "perf"},
                      "runtime_env": {"env_vars": {"A": "1"}}, "output": "out/${name}"}, "job")
    assert isinstance(spec, JobBase) and spec.kind == "perf" and spec.description == "nightly" and spec.seed == 7
    assert (spec.ray.address, spec.ray.namespace, spec.runtime_env, spec.output) == ("auto", "perf", {"env_vars": {"A": "1"}}, "out/load")
    with pytest.raises(ConfigError, match="prompts.seed: unknown key 'seed'"):  # one seed per job: the job's
        build_job({**PERF, "prompts": {"seed": 3}}, "job")


@pytest.mark.parametrize("kind", [PerfJobSpec, JobSpec])
def test_every_job_kind_is_a_job_base_with_every_shared_field_described(kind):
    assert issubclass(kind, JobBase)
    assert set(JobBase.model_fields) <= set(kind.model_fields)
    assert all(field.description for field in kind.model_fields.values())


def test_the_kind_tells_the_kinds_apart():
    assert type(build_job(dict(PERF), "job")) is PerfJobSpec
    eval_job = {"name": "e", "models": [{"name": "m", "backend": "replay", "source": "x.jsonl"}],
                "benchmarks": [{"name": "gsm8k"}]}
    assert type(build_job(eval_job, "job")) is JobSpec
    with pytest.raises(ConfigError, match="unknown job kind 'perff'"):
        build_job({**PERF, "kind": "perff"}, "job")
