"""Checks the CRD schemas cannot express: the embedded ``runtimeEnvYAML`` / ``serveConfigV2`` strings (parsed and
validated with Ray's own models) and a few KubeRay operator rules (submission modes, replica bounds, group names).

Each check yields ``(field path, message)``; :func:`check` runs the ones for the object's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import yaml

from evalray.errors import did_you_mean

Finding = tuple[str, str]
SUBMISSION_MODES = ("K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode")
OPENAI_APP = "ray.serve.llm:build_openai_app"


def check(doc: dict[str, Any]) -> list[Finding]:
    checks: dict[str, Callable[[dict[str, Any], str], Iterator[Finding]]] = {
        "RayJob": rayjob_spec,
        "RayService": rayservice_spec,
        "RayCluster": cluster_spec,
        "RayCronJob": raycronjob_spec,
    }
    if doc.get("kind") == "ConfigMap":
        return list(evalray_job_files(doc.get("data") or {}, "data"))
    fn = checks.get(str(doc.get("kind")))
    return list(fn(doc.get("spec") or {}, "spec")) if fn else []


def evalray_job_files(data: dict[str, Any], path: str) -> Iterator[Finding]:
    """ConfigMap entries that are evalray job files (``*.yaml`` with ``models:`` or ``kind: eval|perf``) must load."""
    from evalray.errors import ConfigError
    from evalray.job.loader import build_job

    for key, text in data.items():
        if not str(key).endswith((".yaml", ".yml")):
            continue
        value, errors = _parse_embedded(text, f"{path}.{key}")
        if errors or value is None or not ("models" in value or value.get("kind") in ("eval", "perf")):
            yield from errors
            continue
        try:
            build_job(value, "job")
        except ConfigError as exc:
            if "is neither a job key nor a set environment variable" not in str(exc):  # ${VAR} set in the pod only
                yield f"{path}.{key}", str(exc).removeprefix("job: ")


def raycronjob_spec(spec: dict[str, Any], path: str) -> Iterator[Finding]:
    yield from rayjob_spec(spec.get("jobTemplate") or {}, f"{path}.jobTemplate")


def rayjob_spec(spec: dict[str, Any], path: str) -> Iterator[Finding]:
    mode = spec.get("submissionMode", "K8sJobMode")
    if mode not in SUBMISSION_MODES:
        yield f"{path}.submissionMode", f"unknown submission mode '{mode}'{did_you_mean(mode, SUBMISSION_MODES)}"
    if mode != "InteractiveMode" and not spec.get("entrypoint"):
        yield f"{path}.entrypoint", f"required in {mode}"
    has_cluster = "rayClusterSpec" in spec
    if spec.get("clusterSelector") and has_cluster:
        yield f"{path}.clusterSelector", "use either clusterSelector or rayClusterSpec, not both"
    if not has_cluster and not spec.get("clusterSelector"):
        yield f"{path}.rayClusterSpec", "required unless clusterSelector names an existing RayCluster"
    if spec.get("shutdownAfterJobFinishes") and not has_cluster:
        yield f"{path}.shutdownAfterJobFinishes", "needs rayClusterSpec (a selected cluster is never deleted)"
    if "activeDeadlineSeconds" in spec and spec["activeDeadlineSeconds"] <= 0:
        yield f"{path}.activeDeadlineSeconds", "must be a positive number of seconds"
    if spec.get("ttlSecondsAfterFinished", 0) < 0:
        yield f"{path}.ttlSecondsAfterFinished", "must not be negative"
    if "runtimeEnvYAML" in spec:
        yield from runtime_env_yaml(spec["runtimeEnvYAML"], f"{path}.runtimeEnvYAML")
    if has_cluster:
        yield from cluster_spec(spec["rayClusterSpec"], f"{path}.rayClusterSpec")


def rayservice_spec(spec: dict[str, Any], path: str) -> Iterator[Finding]:
    if "serveConfigV2" in spec:
        yield from serve_config(spec["serveConfigV2"], f"{path}.serveConfigV2")
    if "rayClusterConfig" in spec:
        yield from cluster_spec(spec["rayClusterConfig"], f"{path}.rayClusterConfig")


def cluster_spec(spec: dict[str, Any], path: str) -> Iterator[Finding]:
    head = spec.get("headGroupSpec") or {}
    if not ((head.get("template") or {}).get("spec") or {}).get("containers"):
        yield f"{path}.headGroupSpec.template.spec.containers", "the head pod needs a container"
    seen: set[str] = set()
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        where = f"{path}.workerGroupSpecs[{i}]"
        name = group.get("groupName", "")
        if name in seen:
            yield f"{where}.groupName", f"duplicate worker group name '{name}'"
        seen.add(name)
        low, high = group.get("minReplicas", 0), group.get("maxReplicas", 2**31 - 1)
        replicas = group.get("replicas", low)
        if low > high:
            yield f"{where}.minReplicas", f"minReplicas {low} is above maxReplicas {high}"
        elif not low <= replicas <= high:
            yield f"{where}.replicas", f"replicas {replicas} is outside minReplicas..maxReplicas ({low}..{high})"
        if not ((group.get("template") or {}).get("spec") or {}).get("containers"):
            yield f"{where}.template.spec.containers", "the worker pod needs a container"


def _parse_embedded(text: Any, path: str) -> tuple[dict[str, Any] | None, list[Finding]]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1} of the string)" if mark else ""
        return None, [(path, f"YAML syntax error{where}: {getattr(exc, 'problem', exc)}")]
    if not isinstance(value, dict):
        return None, [(path, "must be a YAML mapping")]
    return value, []


def runtime_env_yaml(text: Any, path: str) -> Iterator[Finding]:
    env, errors = _parse_embedded(text, path)
    yield from errors
    if env is not None:
        yield from runtime_env(env, path)


def runtime_env(env: dict[str, Any], path: str) -> Iterator[Finding]:
    """Unknown keys (with a did-you-mean) and the type checks of ``ray.runtime_env.RuntimeEnv``."""
    from ray.runtime_env import RuntimeEnv

    known = sorted(k for k in RuntimeEnv.known_fields if not k.startswith("_"))
    unknown = [key for key in env if key not in RuntimeEnv.known_fields]
    for key in unknown:
        yield f"{path}.{key}", f"unknown runtime_env key{did_you_mean(str(key), known)}"
    if unknown:
        return
    try:
        RuntimeEnv(**env)
    except Exception as exc:  # RuntimeEnv raises TypeError/ValueError with a readable message
        yield path, first_line(str(exc))


def serve_config(text: Any, path: str) -> Iterator[Finding]:
    config, errors = _parse_embedded(text, path)
    yield from errors
    if config is None:
        return
    from pydantic import ValidationError
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    yield from _unknown_keys(config, ServeDeploySchema.model_fields, path)
    for i, app in enumerate(config.get("applications") or []):
        if isinstance(app, dict):
            yield from _unknown_keys(app, ServeApplicationSchema.model_fields, f"{path}.applications[{i}]")
            for j, dep in enumerate(app.get("deployments") or []):
                if isinstance(dep, dict):
                    where = f"{path}.applications[{i}].deployments[{j}]"
                    yield from _unknown_keys(dep, DeploymentSchema.model_fields, where)
    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        yield _pydantic_finding(exc, path)
        return
    for i, app in enumerate(config.get("applications") or []):
        if app.get("import_path") == OPENAI_APP:
            yield from llm_app_args(app.get("args") or {}, f"{path}.applications[{i}].args")


def llm_app_args(args: dict[str, Any], path: str) -> Iterator[Finding]:
    """``build_openai_app`` arguments through Ray Serve LLM's own ``LLMServingArgs`` (extra keys forbidden)."""
    if not args.get("llm_configs"):
        yield f"{path}.llm_configs", "build_openai_app needs at least one LLM config"
        return
    import logging

    vllm_logger = logging.getLogger("vllm")  # importing ray.serve.llm may import vllm, which logs at INFO
    if vllm_logger.level == logging.NOTSET:
        vllm_logger.setLevel(logging.WARNING)
    try:
        from ray.serve.llm import LLMServingArgs
    except ImportError:  # ray[llm] missing: the structure above is all we can check
        return
    from pydantic import ValidationError

    try:
        LLMServingArgs.model_validate(args)
    except ValidationError as exc:
        yield _pydantic_finding(exc, path)


def _unknown_keys(value: dict[str, Any], fields: Any, path: str) -> Iterator[Finding]:
    known = list(fields)
    for key in value:
        if key not in fields:
            yield f"{path}.{key}", f"unknown field{did_you_mean(str(key), known)}"


def _pydantic_finding(exc: Any, path: str) -> Finding:
    err = exc.errors()[0]
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
    return f"{path}{loc}", first_line(str(err["msg"]).removeprefix("Value error, "))


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid"
