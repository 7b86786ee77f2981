"""``evalray kuberay render``: sizing from the job's models, the job file carried intact (CRD validation of the output:
tests/data/test_cluster_validate.py)."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalray.cluster.render import RenderOptions, render, worker_groups
from evalray.errors import ConfigError
from evalray.job.loader import build_job

REPO = Path(__file__).resolve().parents[2]

GPU_JOB = """
name: gpu-eval
models:
  - {name: qwen, backend: vllm, source: Qwen/Qwen2.5-0.5B-Instruct, replicas: 3, resources: {num_gpus: 1, num_cpus: 2}}
benchmarks: [{name: gsm8k, limit: 10}, {name: mmlu}]
output: s3://bucket/runs/${name}
runtime_env: {pip: [boto3], env_vars: {HF_HOME: /tmp/hf}}
"""


def _render(text: str = GPU_JOB, **options: Any) -> tuple[list[dict[str, Any]], list[str]]:
    raw = yaml.safe_load(text)
    return render(build_job(copy.deepcopy(raw)), raw, RenderOptions(**options))


def _rayjob(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "RayJob")


def _groups(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _rayjob(objects)["spec"]["rayClusterSpec"]["workerGroupSpecs"]


def test_gpu_job_gets_one_gpu_worker_per_replica() -> None:
    objects, _ = _render()
    spec = _rayjob(objects)["spec"]
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] >= 0 and spec["activeDeadlineSeconds"] > 0
    [group] = _groups(objects)
    assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] == 3
    limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1" and group["rayStartParams"]["num-gpus"] == "1"
    assert int(limits["cpu"]) >= 2


@pytest.mark.parametrize("options,replicas,gpus", [({"gpus_per_worker": 2}, 2, "2"), ({"workers": 5}, 5, "1"),
                                                   ({"gpus_per_worker": 4, "workers": 1}, 1, "4")])
def test_size_options(options: dict[str, Any], replicas: int, gpus: str) -> None:
    [group] = _groups(_render(**options)[0])
    assert group["replicas"] == replicas
    assert group["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == gpus


def test_impossible_sizes_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="--workers 2 x 1 GPUs is less than the 3 GPUs"):
        _render(workers=2)
    with pytest.raises(ConfigError, match="needs 2 GPUs per actor but --gpus-per-worker is 1"):
        _render(GPU_JOB.replace("num_gpus: 1", "num_gpus: 2"), gpus_per_worker=1)


def test_accelerator_types_get_their_own_worker_groups() -> None:
    text = GPU_JOB.replace("benchmarks:", "  - {name: big, backend: vllm, source: x/y, replicas: 1, "
                           "resources: {num_gpus: 2, accelerator_type: A100}}\nbenchmarks:")
    raw = yaml.safe_load(text)
    groups = worker_groups(build_job(copy.deepcopy(raw)), RenderOptions())
    assert [(g.name, g.replicas, g.gpus, g.accelerator_type) for g in groups] == [("gpu", 3, 1, None),
                                                                                 ("gpu-a100", 1, 2, "A100")]


def test_cpu_job_has_no_gpus() -> None:
    objects, _ = _render((REPO / "configs" / "quickstart.yaml").read_text())
    [group] = _groups(objects)
    assert "nvidia.com/gpu" not in group["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert "num-gpus" not in group["rayStartParams"]


def test_configmap_carries_the_job_and_runtime_env_moves_to_the_rayjob() -> None:
    objects, _ = _render()
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    carried = yaml.safe_load(configmap["data"]["job.yaml"])
    assert "runtime_env" not in carried
    expected = build_job(yaml.safe_load(GPU_JOB)).model_dump(exclude={"runtime_env"})
    assert build_job(carried).model_dump(exclude={"runtime_env"}) == expected
    spec = _rayjob(objects)["spec"]
    assert yaml.safe_load(spec["runtimeEnvYAML"]) == {"pip": ["boto3"], "env_vars": {"HF_HOME": "/tmp/hf"}}
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]
    assert head["volumes"][0]["configMap"]["name"] == configmap["metadata"]["name"]
    mount = head["containers"][0]["volumeMounts"][0]["mountPath"]
    assert spec["entrypoint"] == f"python -m evalray.cli.main run {mount}/job.yaml --address auto"


def test_inline_job_decodes_from_the_entrypoint() -> None:
    objects, _ = _render(inline=True)
    assert [o["kind"] for o in objects] == ["RayJob"]
    entrypoint = _rayjob(objects)["spec"]["entrypoint"]
    encoded = entrypoint.split("echo ", 1)[1].split(" ", 1)[0]
    assert yaml.safe_load(base64.b64decode(encoded))["name"] == "gpu-eval"
    assert "volumes" not in _rayjob(objects)["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]


def test_warnings_for_things_that_do_not_travel() -> None:
    _, warnings = _render(GPU_JOB.replace("output: s3://bucket/runs/${name}", "output: runs/x")
                          .replace("{name: mmlu}", "{name: mmlu, data_dir: /data/mmlu}"))
    assert any("data_dir '/data/mmlu'" in w for w in warnings)
    assert any("output 'runs/x'" in w for w in warnings)
    assert _render()[1] == []


def test_working_dir_in_runtime_env_is_rejected() -> None:
    with pytest.raises(ConfigError, match="runtime_env.working_dir"):
        _render(GPU_JOB.replace("pip: [boto3]", "working_dir: ., pip: [boto3]"))
