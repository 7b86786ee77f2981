"""Offline KubeRay manifest validation against the KubeRay CRDs in ../shared/kuberay: every manifest in cluster/
passes, the upstream samples pass, broken manifests fail with a message naming the bad field, and what ``evalray
kuberay render`` makes validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evalray.cluster import crd
from evalray.cluster.render import RenderOptions, render, to_yaml
from evalray.cluster.validate import validate_documents, validate_file, validate_text
from tests.unit.test_cluster_render import _groups, _render

REPO = Path(__file__).resolve().parents[2]
KUBERAY = REPO / ".." / "shared" / "kuberay"
CRDS = KUBERAY / "crds"
MANIFESTS = sorted((REPO / "cluster").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not (CRDS / "ray.io_rayjobs.yaml").is_file(), reason=f"KubeRay CRDs not found at {CRDS}")


def _messages(text: str) -> list[str]:
    return [str(p) for p in validate_text(text, "test", CRDS)]


def test_cluster_folder_has_the_three_manifests() -> None:
    kinds = {doc["kind"] for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert {"RayCluster", "RayJob", "RayService"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_cluster_manifests_are_valid(path: Path) -> None:
    assert [str(p) for p in validate_file(path, CRDS)] == []


@pytest.mark.parametrize("path", sorted((KUBERAY / "samples").glob("*.yaml")), ids=lambda p: p.name)
def test_upstream_samples_are_valid(path: Path) -> None:
    """The validator is not stricter than KubeRay itself."""
    assert [str(p) for p in validate_file(path, CRDS)] == []


def _rayjob() -> str:
    return (REPO / "cluster" / "rayjob-gpu-eval.yaml").read_text()


def _rayservice() -> str:
    return (REPO / "cluster" / "rayservice-llm.yaml").read_text()


BROKEN = [
    # (name, manifest text, field path the message must name, words it must contain)
    ("typo-in-field-name", lambda: _rayjob().replace("shutdownAfterJobFinishes:", "shutdownAfterJobFinish:"),
     "spec.shutdownAfterJobFinish", "did you mean 'shutdownAfterJobFinishes'"),
    ("wrong-type", lambda: _rayjob().replace("replicas: 2\n        minReplicas", "replicas: two\n        minReplicas"),
     "spec.rayClusterSpec.workerGroupSpecs[0].replicas", "expected integer, got string"),
    ("float-for-int-or-string", lambda: _rayjob().replace('cpu: "8"', "cpu: 0.5", 1),
     "workerGroupSpecs[0].template.spec.containers[0].resources.requests.cpu", "expected integer or string"),
    ("bad-quantity", lambda: _rayjob().replace("memory: 32Gi", "memory: 32 GB", 1),
     "resources.requests.memory", "not a Kubernetes quantity"),
    ("container-without-name", lambda: _rayjob().replace("- name: ray-worker", "- nam: ray-worker"),
     "containers[0].nam", "unknown field"),
    ("runtime-env-typo", lambda: _rayjob().replace("    env_vars:\n      HF_HOME", "    env_var:\n      HF_HOME"),
     "spec.runtimeEnvYAML.env_var", "did you mean 'env_vars'"),
    ("runtime-env-wrong-type", lambda: _rayjob().replace("VLLM_LOGGING_LEVEL: WARNING", "VLLM_LOGGING_LEVEL: 3"),
     "spec.runtimeEnvYAML", "Dict[str, str]"),
    ("serve-config-typo", lambda: _rayservice().replace("model_source: Qwen", "model_sorce: Qwen"),
     "spec.serveConfigV2.applications[0].args", "model_loading_config"),
    ("serve-config-unknown-app-key", lambda: _rayservice().replace("route_prefix: /", "route_prefx: /"),
     "spec.serveConfigV2.applications[0].route_prefx", "did you mean 'route_prefix'"),
    ("serve-config-yaml", lambda: _rayservice().replace("        args:\n", "        args: [\n"),
     "spec.serveConfigV2", "YAML syntax error"),
    ("submission-mode", lambda: _rayjob().replace("submissionMode: K8sJobMode", "submissionMode: K8sJob"),
     "spec.submissionMode", "did you mean 'K8sJobMode'"),
    ("replicas-above-max", lambda: _rayjob().replace("replicas: 2\n        minReplicas", "replicas: 3\n        minReplicas"),
     "workerGroupSpecs[0].replicas", "outside minReplicas..maxReplicas"),
    ("metadata-typo", lambda: _rayjob().replace("  name: evalray-gpu-eval\n", "  nme: evalray-gpu-eval\n"),
     "metadata.nme", "unknown field"),
    ("embedded-evalray-job", lambda: _rayjob().replace("        replicas: 2\n        resources:", "        replicas: 0\n        resources:"),
     "data.job.yaml", "models.0.replicas"),
]


@pytest.mark.parametrize("name,make,path,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_manifest_fails_naming_the_field(name: str, make, path: str, words: str) -> None:
    text = make()
    assert text != (_rayservice() if "serve" in name else _rayjob()), "the mutation did not apply"
    messages = _messages(text)
    assert messages, f"{name}: broken manifest passed validation"
    assert any(path in m and words in m for m in messages), messages


def test_int_or_string_accepts_both() -> None:
    text = _rayjob().replace('cpu: "8"', "cpu: 8")
    assert _messages(text) == []


def test_defaults_are_applied_before_validation() -> None:
    schemas = crd.load_schemas(str(CRDS.resolve()))
    schema = schemas[("ray.io/v1", "RayJob")].schema
    doc = yaml.safe_load(_rayjob().split("---", 1)[1])
    doc["spec"].pop("submissionMode")
    doc["spec"].pop("ttlSecondsAfterFinished")
    defaulted = crd.apply_defaults(doc, schema)
    assert defaulted["spec"]["submissionMode"] == "K8sJobMode"
    assert defaulted["spec"]["ttlSecondsAfterFinished"] == 0
    assert "submissionMode" not in doc["spec"], "apply_defaults must not modify its input"


def test_nulls_are_dropped_like_the_api_server() -> None:
    assert _messages(_rayjob().replace("backoffLimit: 0", "backoffLimit: null")) == []


def test_unknown_kind_and_bad_yaml() -> None:
    assert "no schema for apiVersion 'ray.io/v9'" in _messages("apiVersion: ray.io/v9\nkind: RayJob\nmetadata: {name: x}\n")[0]
    assert "YAML syntax error" in _messages("kind: [\n")[0]
    assert "no Kubernetes objects" in _messages("# nothing\n")[0]


def test_v1alpha1_is_served_too() -> None:
    docs = list(yaml.safe_load_all(_rayjob()))
    docs[1]["apiVersion"] = "ray.io/v1alpha1"
    docs[1]["spec"]["rayClusterSpec"]["bogus"] = 1
    messages = [str(p) for p in validate_documents(docs, "test", CRDS)]
    assert any("spec.rayClusterSpec.bogus: unknown field" in m for m in messages), messages


def test_missing_crd_dir_is_one_clear_error(tmp_path: Path) -> None:
    from evalray.errors import EvalrayError

    with pytest.raises(EvalrayError, match="no KubeRay CRD files"):
        validate_text(_rayjob(), "x", tmp_path)



@pytest.mark.parametrize("options", [{}, {"inline": True}, {"gpus_per_worker": 2, "namespace": "evals",
                                                             "node_selector": {"gpu": "l4"}}])
def test_rendered_manifests_pass_crd_validation(options: dict[str, Any]) -> None:
    text = to_yaml(_render(**options)[0])
    assert "&id" not in text, "no YAML anchors in manifests"
    assert [str(p) for p in validate_text(text, "rendered", CRDS)] == []


def test_perf_job_renders_a_load_generator_group() -> None:
    text = ("kind: perf\nname: load\ntarget: {url: 'http://evalray-llm-serve-svc:8000/v1', model: m}\n"
            "load: {concurrency: [64], num_requests: 1000}\nfleet: {workers: 16, cpus_per_worker: 0.5}\n"
            "output: s3://bucket/perf\n")
    objects, warnings = _render(text)
    [group] = _groups(objects)
    assert group["groupName"] == "loadgen" and group["replicas"] == 2 and warnings == []
    assert validate_text(to_yaml(objects), "perf", CRDS) == []


@pytest.mark.parametrize("path", sorted((REPO / "cluster" / "jobs").glob("*.yaml")), ids=lambda p: p.name)
def test_cluster_job_files_load_and_render(path: Path) -> None:
    """The evalray job files next to the manifests are valid jobs, and render to valid RayJobs."""
    from evalray.cluster.staging import load_raw
    raw, job = load_raw(path, [])
    objects, _ = render(job, raw, RenderOptions())
    assert validate_text(to_yaml(objects), path.name, CRDS) == []
