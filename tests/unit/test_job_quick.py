"""`evalray eval`'s job: built as a job dict from QuickEval and validated by the same loader as a YAML job."""

from __future__ import annotations

import pytest
import yaml

from evalray.errors import ConfigError
from evalray.job.loader import build_job
from evalray.job.quick import QuickEval, model_name, quick_job, quick_job_dict


def test_model_names_from_sources():
    assert model_name("builtin:tiny-llama") == "tiny-llama"
    assert model_name("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen2.5-0.5B-Instruct"
    assert model_name("http://127.0.0.1:8000/v1") == "127.0.0.1:8000"
    assert model_name("/models/my ckpt/") == "my-ckpt"


def test_the_job_of_one_line():
    job, data = quick_job(QuickEval(model="Qwen/Qwen2.5-0.5B-Instruct", benchmarks=["gsm8k", " mmlu"], backend="vllm",
                                    limit=5, chat=True, replicas=2, output="out/q", data_dir="../shared/data/",
                                    overrides=["models.0.engine.max_model_len=2048"]))
    model = job.models[0]
    assert (model.backend, model.source, model.replicas, model.chat, model.engine) == (
        "vllm", "Qwen/Qwen2.5-0.5B-Instruct", 2, True, {"max_model_len": 2048})
    assert [(b.name, b.limit, b.data_dir) for b in job.benchmarks] == [
        ("gsm8k", 5, "../shared/data/gsm8k"), ("mmlu", 5, "../shared/data/mmlu")]
    assert job.output == "out/q" and job.name == "Qwen2.5-0.5B-Instruct"
    # what --dry-run prints is a job file: the same job again
    assert build_job(yaml.safe_load(yaml.safe_dump(data))) == job


def test_defaults_stay_out_of_the_dict():
    data = quick_job_dict(QuickEval(model="builtin:tiny-llama", benchmarks=["gsm8k"]))
    assert data == {"name": "tiny-llama", "models": [{"name": "tiny-llama", "backend": "hf", "source": "builtin:tiny-llama"}],
                    "benchmarks": [{"name": "gsm8k"}]}
    assert quick_job(QuickEval(model="builtin:tiny-llama", benchmarks=["gsm8k"]))[0].output == "runs/tiny-llama"


@pytest.mark.parametrize("options, expected", [
    ({"benchmarks": ["gsm9k"]}, "evalray eval: benchmarks.0.name: unknown benchmark 'gsm9k' (did you mean 'gsm8k'?)"),
    ({"benchmarks": [""]}, "--benchmarks: name at least one benchmark"),
    ({"benchmarks": ["gsm8k"], "backend": "replay"}, "--backend: 'replay' is not one of hf, openai, vllm, serve"),
    ({"benchmarks": ["gsm8k"], "replicas": 0}, "evalray eval: models.0.replicas: Input should be greater than or equal to 1"),
    ({"benchmarks": ["gsm8k"], "overrides": ["models.0.dtype=int3"]}, "evalray eval: models.0.dtype: Input should be"),
])
def test_bad_options_are_one_line(options, expected):
    with pytest.raises(ConfigError) as error:
        quick_job(QuickEval(model="builtin:tiny-llama", **options))
    assert str(error.value).startswith(expected), str(error.value)
