"""``evalray kuberay render``: a RayJob (plus a ConfigMap carrying the job file) that runs one evalray job on a
KubeRay-managed cluster created for it, sized from the job's models.

Sizing: the model actors are grouped by ``resources.accelerator_type``; each group becomes one worker group. A GPU
group has ``ceil(sum(replicas * num_gpus) / gpus_per_worker)`` workers with ``nvidia.com/gpu`` limits; a CPU group
has ``ceil(sum(replicas * num_cpus) / cpus_per_worker)`` workers. The head runs the driver only (``num-cpus: 0``)
when there are worker groups.
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import yaml
from pydantic import BaseModel, Field

from evalray import __version__
from evalray.errors import ConfigError
from evalray.job.embed_spec import EmbedJobSpec
from evalray.job.perf_spec import PerfJobSpec
from evalray.job.spec import JobSpec

Job = JobSpec | PerfJobSpec | EmbedJobSpec  # the job kinds, told apart by ``kind`` (all derive from JobBase)

RAY_VERSION = "2.60.0"
JOB_MOUNT = "/home/ray/evalray"
JOB_KEY = "job.yaml"
DEFAULT_CPU_IMAGE = f"evalray/evalray:{__version__}"
DEFAULT_GPU_IMAGE = f"evalray/evalray:{__version__}-gpu"


class RenderOptions(BaseModel):
    """Knobs of ``evalray kuberay render``; None means 'derive from the job'."""

    image: str | None = Field(None, description="Container image with evalray installed (default: evalray/evalray).")
    gpus_per_worker: int | None = Field(None, ge=1, description="GPUs of one GPU worker pod (default: the largest actor, at least 1).")
    cpus_per_worker: int = Field(4, ge=1, description="CPUs of one worker pod.")
    memory_per_worker: str | None = Field(None, description="Memory of one worker pod, e.g. 32Gi (default: 8Gi per CPU-worker, 32Gi per GPU).")
    workers: int | None = Field(None, ge=1, description="Worker pods per group (default: enough for all actors).")
    name: str | None = Field(None, description="RayJob name (default: evalray-<job name>).")
    namespace: str | None = Field(None, description="Kubernetes namespace of the objects.")
    inline: bool = Field(False, description="Carry the job file inline in the entrypoint instead of a ConfigMap.")
    ttl_seconds: int = Field(600, ge=0, description="ttlSecondsAfterFinished: keep the finished cluster this long.")
    deadline_seconds: int = Field(6 * 3600, ge=1, description="activeDeadlineSeconds of the whole job.")
    node_selector: dict[str, str] = Field(default_factory=dict, description="nodeSelector of the worker pods.")


class WorkerGroup(BaseModel):
    """One worker group derived from the job's models."""

    name: str = Field(..., description="groupName.")
    replicas: int = Field(..., ge=1, description="Worker pods.")
    gpus: int = Field(0, ge=0, description="GPUs per pod.")
    cpus: int = Field(..., ge=1, description="CPUs per pod.")
    memory: str = Field(..., description="Memory per pod (Kubernetes quantity).")
    accelerator_type: str | None = Field(None, description="Ray accelerator type the models of this group need.")


def dns_name(text: str, limit: int = 40) -> str:
    """A lowercase RFC 1123 label derived from ``text``."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return name or "evalray"


def worker_groups(job: Job, opts: RenderOptions) -> list[WorkerGroup]:
    """Group the model actors by accelerator type and size a worker group for each (perf jobs: the load
    generator fleet)."""
    if isinstance(job, PerfJobSpec):
        fleet = job.fleet
        cpus = fleet.workers * fleet.cpus_per_worker
        workers = opts.workers or max(1, math.ceil(cpus / opts.cpus_per_worker))
        memory = opts.memory_per_worker or f"{2 * opts.cpus_per_worker}Gi"
        return [WorkerGroup(name="loadgen", replicas=workers, cpus=opts.cpus_per_worker, memory=memory)]
    by_type: dict[str | None, list[Any]] = {}
    for model in job.models:
        by_type.setdefault(model.resources.accelerator_type, []).append(model)
    groups = []
    for accel, models in by_type.items():
        gpus_total = sum(m.replicas * m.resources.num_gpus for m in models)
        cpus_total = sum(m.replicas * m.resources.num_cpus for m in models)
        suffix = f"-{dns_name(accel, 20)}" if accel else ""
        if gpus_total > 0:
            groups.append(_gpu_group(models, gpus_total, cpus_total, accel, suffix, opts))
        else:
            workers = opts.workers or max(1, math.ceil(cpus_total / opts.cpus_per_worker))
            memory = opts.memory_per_worker or f"{2 * opts.cpus_per_worker}Gi"
            groups.append(WorkerGroup(name=f"cpu{suffix}", replicas=workers, cpus=opts.cpus_per_worker, memory=memory,
                                      accelerator_type=accel))
    return groups


def _gpu_group(models: list[Any], gpus_total: float, cpus_total: float, accel: str | None, suffix: str,
               opts: RenderOptions) -> WorkerGroup:
    largest = max(m.resources.num_gpus for m in models)
    per_worker = opts.gpus_per_worker or max(1, math.ceil(largest))
    if largest > per_worker:
        model = next(m for m in models if m.resources.num_gpus == largest)
        raise ConfigError(f"model '{model.name}' needs {largest:g} GPUs per actor but --gpus-per-worker is {per_worker}")
    needed = math.ceil(gpus_total / per_worker)
    workers = opts.workers or needed
    if workers < needed:
        raise ConfigError(f"--workers {workers} x {per_worker} GPUs is less than the {gpus_total:g} GPUs the models need")
    cpus = max(opts.cpus_per_worker, math.ceil(cpus_total / workers) + 2)
    memory = opts.memory_per_worker or f"{32 * per_worker}Gi"
    return WorkerGroup(name=f"gpu{suffix}", replicas=workers, gpus=per_worker, cpus=cpus, memory=memory,
                       accelerator_type=accel)


def cluster_job_dict(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Split a raw job mapping into (job for the cluster, runtime_env); the runtime_env moves to the Ray job level."""
    job = {k: v for k, v in raw.items() if k != "runtime_env"}
    env = raw.get("runtime_env")
    if env and "working_dir" in env:
        raise ConfigError("runtime_env.working_dir: not supported on a cluster (evalray uploads the job itself)")
    return job, env or None


def render(job: Job, raw: dict[str, Any], opts: RenderOptions) -> tuple[list[dict[str, Any]], list[str]]:
    """The Kubernetes objects (ConfigMap unless inline, RayJob) and warnings for things that will not work remotely."""
    cluster_job, runtime_env = cluster_job_dict(raw)
    job_text = yaml.safe_dump(cluster_job, sort_keys=False)
    name = dns_name(opts.name or f"evalray-{job.name}")
    groups = worker_groups(job, opts)
    gpu = any(g.gpus for g in groups)
    image = opts.image or (DEFAULT_GPU_IMAGE if gpu else DEFAULT_CPU_IMAGE)
    meta = _metadata(name, job, opts)
    if opts.inline:
        encoded = base64.b64encode(job_text.encode()).decode()
        entrypoint = f"echo {encoded} | base64 -d > job.yaml && python -m evalray.cli.main run job.yaml --address auto"
        objects: list[dict[str, Any]] = []
    else:
        entrypoint = f"python -m evalray.cli.main run {JOB_MOUNT}/{JOB_KEY} --address auto"
        objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(f"{name}-job", job, opts),
                    "data": {JOB_KEY: job_text}}]
    spec: dict[str, Any] = {
        "entrypoint": entrypoint,
        "submissionMode": "K8sJobMode",
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": opts.ttl_seconds,
        "activeDeadlineSeconds": opts.deadline_seconds,
        "backoffLimit": 0,
    }
    if runtime_env:
        spec["runtimeEnvYAML"] = yaml.safe_dump(runtime_env, sort_keys=False)
    spec["rayClusterSpec"] = _cluster_spec(image, groups, name, opts)
    objects.append({"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": meta, "spec": spec})
    return objects, render_warnings(job)


def render_warnings(job: Job) -> list[str]:
    warnings = []
    if isinstance(job, PerfJobSpec):
        prompts_dir = job.prompts.data_dir
        if prompts_dir and "://" not in prompts_dir:
            warnings.append(f"prompts.data_dir '{prompts_dir}' must exist at that path in the pods")
    else:
        for i, bench in enumerate(job.benchmarks):
            if bench.data_dir and "://" not in bench.data_dir and not bench.data_dir.startswith("builtin:"):
                warnings.append(f"benchmarks.{i}.data_dir '{bench.data_dir}' must exist at that path in the pods "
                                "(bake it into the image or mount a volume)")
    if "://" not in job.output or job.output.startswith("file://"):
        warnings.append(f"output '{job.output}' is a path inside the head pod and is deleted with the cluster; "
                        "use s3://... or gs://... to keep the results")
    return warnings


def _metadata(name: str, job: Job, opts: RenderOptions) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {"app.kubernetes.io/name": "evalray", "app.kubernetes.io/version": __version__,
                   "evalray.io/job": dns_name(job.name, 63)},
    }
    if opts.namespace:
        meta["namespace"] = opts.namespace
    return meta


def _cluster_spec(image: str, groups: list[WorkerGroup], name: str, opts: RenderOptions) -> dict[str, Any]:
    head_container: dict[str, Any] = {
        "name": "ray-head",
        "image": image,
        "ports": [{"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
                  {"containerPort": 10001, "name": "client"}],
        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}},
    }
    head_pod: dict[str, Any] = {"containers": [head_container]}
    if not opts.inline:
        head_container["volumeMounts"] = [{"name": "evalray-job", "mountPath": JOB_MOUNT}]
        head_pod["volumes"] = [{"name": "evalray-job", "configMap": {"name": f"{name}-job"}}]
    return {
        "rayVersion": RAY_VERSION,
        "headGroupSpec": {"rayStartParams": {"num-cpus": "0"} if groups else {}, "template": {"spec": head_pod}},
        "workerGroupSpecs": [_worker_group(g, image, opts) for g in groups],
    }


def _worker_group(group: WorkerGroup, image: str, opts: RenderOptions) -> dict[str, Any]:
    resources: dict[str, Any] = {"cpu": str(group.cpus), "memory": group.memory}
    params: dict[str, str] = {"num-cpus": str(group.cpus)}
    pod: dict[str, Any] = {}
    if group.gpus:
        resources["nvidia.com/gpu"] = str(group.gpus)
        params["num-gpus"] = str(group.gpus)
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if opts.node_selector:
        pod["nodeSelector"] = dict(opts.node_selector)
    container = {"name": "ray-worker", "image": image, "resources": {"requests": dict(resources), "limits": resources}}
    pod["containers"] = [container]
    template: dict[str, Any] = {"spec": pod}
    if group.accelerator_type:
        template["metadata"] = {"labels": {"evalray.io/accelerator-type": dns_name(group.accelerator_type, 63)}}
    return {
        "groupName": group.name,
        "replicas": group.replicas,
        "minReplicas": group.replicas,
        "maxReplicas": group.replicas,
        "rayStartParams": params,
        "template": template,
    }


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (job files, runtimeEnvYAML) as readable ``|`` blocks; no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_representer)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_BlockDumper, sort_keys=False, width=120)
