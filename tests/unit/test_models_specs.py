"""Backends as plugins: each backend's own spec type, chosen by ``backend``; the registry and the spec union agree;
an option of another backend is a clear one-line error."""

from __future__ import annotations

import pytest

from evalray.errors import ConfigError
from evalray.job import spec as job_spec
from evalray.job.loader import build_job
from evalray.models.registry import PLUGINS, plugin


def job(model: dict) -> dict:
    return {"name": "j", "models": [model], "benchmarks": [{"name": "gsm8k"}]}


def test_every_backend_has_a_plugin_and_a_spec_type():
    assert set(PLUGINS) == set(job_spec.MODEL_SPECS) == set(job_spec.BACKENDS)
    for name, entry in PLUGINS.items():
        import typing

        assert typing.get_args(entry.spec_type.model_fields["backend"].annotation) == (name,)
        assert hasattr(entry.load(), "BACKEND") or name == "vllm"  # vllm's module imports without vLLM


@pytest.mark.parametrize("backend, expected", [
    (None, job_spec.HFModelSpec), ("hf", job_spec.HFModelSpec), ("openai", job_spec.OpenAIModelSpec),
    ("serve", job_spec.ServeModelSpec), ("replay", job_spec.ReplayModelSpec), ("vllm", job_spec.VLLMModelSpec),
    ("simulated", job_spec.SimulatedModelSpec),
])
def test_the_backend_chooses_the_spec_type(backend, expected):
    model = {"name": "m", "source": "x", **({"backend": backend} if backend else {})}
    assert type(build_job(job(model)).models[0]) is expected
    assert type(job_spec.parse_model_spec(model)) is expected
    again = job_spec.parse_model_spec(job_spec.parse_model_spec(model).model_dump_json())
    assert type(again) is expected  # the JSON handed to actors comes back as the same type


@pytest.mark.parametrize("model, message", [
    ({"backend": "openai", "dtype": "float32"}, "models.0.dtype: backend 'openai' has no option 'dtype' (an option of hf, vllm, serve)"),
    ({"backend": "hf", "concurrency": 8}, "models.0.concurrency: backend 'hf' has no option 'concurrency' (an option of openai, serve)"),
    ({"backend": "hf", "engine": {"a": 1}}, "models.0.engine: backend 'hf' has no option 'engine' (an option of vllm, serve)"),
    ({"backend": "replay", "max_length": 8}, "backend 'replay' has no option 'max_length'"),
    ({"backend": "vlm"}, "models.0.backend: unknown backend 'vlm' (did you mean 'vllm'?)"),
    ({"backend": "hf", "dtype": "fp8"}, "models.0.dtype: Input should be 'auto', 'float32', 'bfloat16' or 'float16'"),
    ({"backend": "openai", "resources": {"num_cpu": 1}}, "models.0.resources.num_cpu: unknown key 'num_cpu' (did you mean 'num_cpus'?)"),
])
def test_a_wrong_option_for_a_backend_is_one_clear_line(model, message):
    with pytest.raises(ConfigError) as info:
        build_job(job({"name": "m", "source": "x", **model}), "job.yaml")
    text = str(info.value)
    assert message in text and "\n" not in text and text.startswith("job.yaml: ")


def test_capabilities_drive_planning_and_staging():
    assert plugin("replay").capabilities.forces_generate and not plugin("hf").capabilities.forces_generate
    assert plugin("replay").capabilities.local_source == "file"
    assert plugin("hf").capabilities.local_source == "dir" and plugin("openai").capabilities.local_source is None
    assert plugin("serve").capabilities.hosts_weights and not plugin("openai").capabilities.hosts_weights


def test_no_backend_if_chain_outside_models():
    """Code outside evalray/models/ asks the plugin, never compares backend names."""
    import re
    from pathlib import Path

    root = Path(job_spec.__file__).resolve().parents[1]
    pattern = re.compile(r"\.backend\s*(==|!=|in|not in)\s*[\"'(]")
    offenders = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if "models" not in p.parts
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
