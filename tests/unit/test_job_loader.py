"""Job files: overrides, interpolation and one-line errors naming the file, key path and problem."""

from __future__ import annotations

import pytest

from evalray.errors import ConfigError
from evalray.job.loader import apply_override, load_job, public_job_dict

GOOD = """
name: demo
models:
  - name: tiny
    backend: hf
    source: builtin:tiny-llama
    replicas: 2
    resources: {num_cpus: 0.5, num_gpus: 0}
    generation: {max_tokens: 256, temperature: 0.0}
benchmarks:
  - name: gsm8k
    limit: 50
    data_dir: ${DATA_ROOT:-../shared/data}/gsm8k
  - name: mmlu
    limit: 4
output: runs/${name}
ray: {address: null}
"""


def write(tmp_path, text):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_good_job_with_defaults_and_interpolation(tmp_path, monkeypatch):
    monkeypatch.delenv("DATA_ROOT", raising=False)
    job = load_job(write(tmp_path, GOOD))
    assert job.output == "runs/demo"
    assert job.models[0].replicas == 2
    assert job.benchmarks[0].data_dir == "../shared/data/gsm8k"
    monkeypatch.setenv("DATA_ROOT", "/data")
    assert load_job(write(tmp_path, GOOD)).benchmarks[0].data_dir == "/data/gsm8k"


def test_overrides_set_nested_keys_with_yaml_values(tmp_path):
    job = load_job(write(tmp_path, GOOD), ["models.0.replicas=4", "benchmarks.1.subsets=[anatomy, virology]",
                                            "models.0.chat=true"])
    assert job.models[0].replicas == 4
    assert job.models[0].chat is True
    assert job.benchmarks[1].subsets == ["anatomy", "virology"]


@pytest.mark.parametrize(
    "override, expected",
    [
        ("models.0.replicas=many", "job.yaml: models.0.replicas: Input should be a valid integer"),
        ("models.0.backend=hff", "models.0.backend: unknown backend 'hff' (did you mean 'hf'?)"),
        ("benchmarks.0.name=gsm9k", "benchmarks.0.name: unknown benchmark 'gsm9k' (did you mean 'gsm8k'?)"),
        ("models.0.replica=3", "models.0.replica: unknown key 'replica' (did you mean 'replicas'?)"),
        ("models.0.resources.num_gpu=1", "models.0.resources.num_gpu: unknown key 'num_gpu' (did you mean 'num_gpus'?)"),
        ("models.5.replicas=1", "'models.5' is not an index of a list of 1"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(tmp_path, override, expected):
    with pytest.raises(ConfigError) as info:
        load_job(write(tmp_path, GOOD), [override])
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_file_and_yaml_syntax_error(tmp_path):
    with pytest.raises(ConfigError, match="no such job file"):
        load_job(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"YAML syntax error \(line 3, column 1\)"):
        load_job(write(tmp_path, "name: x\nmodels: [a, b\n"))


def test_unset_variable_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError, match=r"\$\{NOT_SET_ANYWHERE\}"):
        load_job(write(tmp_path, GOOD.replace("runs/${name}", "${NOT_SET_ANYWHERE}")))


def test_override_needs_key_value():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        apply_override({}, "models.0.replicas")


def test_public_dict_hides_env_values(tmp_path):
    text = GOOD + "runtime_env: {env_vars: {HF_TOKEN: secret}}\n"
    data = public_job_dict(load_job(write(tmp_path, text)))
    assert data["runtime_env"]["env_vars"] == {"HF_TOKEN": "***"}
    assert "secret" not in str(data)


def test_every_field_has_a_description():
    from evalray.job import spec

    for model in (spec.JobSpec, *spec.MODEL_SPECS.values(), spec.BenchmarkSpec, spec.Resources, spec.GenerationSpec, spec.RaySpec):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"


def test_duplicate_names_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="benchmarks: 'gsm8k' appears twice"):
        load_job(write(tmp_path, GOOD), ["benchmarks.1.name=gsm8k"])
