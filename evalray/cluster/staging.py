"""Prepare what ``evalray submit`` uploads: a working_dir with a copy of the job file whose local paths (benchmark
``data_dir``s, replay/checkpoint model sources) are copied in and rewritten to resolve inside it, the job's own
``runtime_env`` (pip, env_vars, ...) lifted to the Ray job, and the local evalray package as a ``py_module``.

Only the files a job needs travel (its data_dirs, replay files and checkpoints, the job file, the evalray package),
and never a dotfile or anything that looks like a credential (:data:`SECRETS`: ``.ssh``, ``.aws``, ``.env``,
``*.pem``, ``id_rsa``, ...): those are left out of every copied directory, listed in ``skipped``, and a job that names
one directly is refused. ``uploaded`` lists each copied source with its number of files.

A relative ``output`` would land in Ray's temporary working_dir on the cluster, so it is moved under
``${HOME:-/tmp}/evalray-submissions/<submission id>/`` on the head node (the driver's machine).
"""

from __future__ import annotations

import copy
import fnmatch
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalray.cluster.render import Job, cluster_job_dict, dns_name
from evalray.errors import ConfigError
from evalray.job.loader import apply_override, build_job, read_yaml
from evalray.job.embed_spec import EmbedJobSpec
from evalray.job.perf_spec import PerfJobSpec
from evalray.job.spec import JobSpec

MAX_UPLOAD_BYTES = 400 * 1024 * 1024  # Ray refuses working_dir packages above ~500 MiB
CLUSTER_HOME = "${HOME:-/tmp}"
SUBMISSIONS_DIR = "evalray-submissions"
EXCLUDES = ["__pycache__", "*.pyc", ".git", ".pytest_cache"]
SECRETS = [".?*", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "id_rsa*", "id_dsa*",
           "id_ecdsa*", "id_ed25519*", "*.ppk", "credentials", "credentials.*", "secrets", "secrets.*", "*.secret",
           "*.gpg", "*.asc",
           "*.tfstate", "*.tfvars", "netrc", "_netrc", "kubeconfig", "*.kubeconfig"]
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./@+=,:-]*$")


@dataclass
class StagedJob:
    """A job ready to submit: the files in ``working_dir`` and the runtime_env that ships them."""

    job: Job
    working_dir: Path
    job_file: str
    runtime_env: dict[str, Any]
    output: str
    uploaded: list[str]
    skipped: list[str] = field(default_factory=list)  # dotfiles and credential-looking files left behind


def load_raw(path: str | Path, overrides: list[str] | None) -> tuple[dict[str, Any], Job]:
    """The job mapping after ``-S`` overrides (not interpolated), and the validated spec (same errors as validate)."""
    raw = read_yaml(path)
    for assignment in overrides or []:
        apply_override(raw, assignment)
    return raw, build_job(copy.deepcopy(raw), str(path))


def is_local_path(value: str) -> bool:
    return "://" not in value and not value.startswith("builtin:")


def cluster_output(output: str, submission_id: str) -> str:
    """Where a job's ``output`` lands when its driver runs on the cluster (see the module doc)."""
    if "://" in output or Path(output).expanduser().is_absolute() or output.startswith("~"):
        return output
    relative = output.strip("/") or "run"
    if not _SAFE_PATH.match(relative) or ".." in Path(relative).parts:
        raise ConfigError(f"output: '{output}' cannot be used on a cluster; give an absolute path or a URI")
    return f"{CLUSTER_HOME}/{SUBMISSIONS_DIR}/{submission_id}/{relative}"


def stage_job(
    path: str | Path,
    overrides: list[str] | None,
    submission_id: str,
    staging_root: Path,
    output: str | None = None,
    upload_package: bool = True,
) -> StagedJob:
    """Validate the job and build its working_dir under ``staging_root`` (the caller deletes it after submitting)."""
    raw, job = load_raw(path, overrides)
    cluster_job, env = cluster_job_dict(raw)
    env = dict(env or {})
    working_dir = staging_root / "working_dir"
    working_dir.mkdir(parents=True)
    skipped: list[str] = []
    if isinstance(job, PerfJobSpec):
        uploaded = _stage_perf_prompts(cluster_job, job, working_dir, skipped)
    elif isinstance(job, EmbedJobSpec):
        uploaded = _stage_embed(cluster_job, job, working_dir, skipped)
    else:
        uploaded = (_stage_data_dirs(cluster_job, job, working_dir, skipped)
                    + _stage_model_sources(cluster_job, job, working_dir, skipped))
    resolved_output = output or job.output.replace("${name}", job.name)
    cluster_job["output"] = cluster_output(resolved_output, submission_id)
    job_file = f"{dns_name(Path(path).stem, 60) or 'job'}.yaml"
    (working_dir / job_file).write_text(yaml.safe_dump(cluster_job, sort_keys=False), encoding="utf-8")
    check_size(working_dir)
    runtime_env: dict[str, Any] = {**env, "working_dir": str(working_dir)}
    # (".?*", not ".*": Ray matches the patterns against the working_dir itself too, whose relative path "." matches
    # ".*" and would exclude everything)
    runtime_env["excludes"] = list(env.get("excludes") or []) + EXCLUDES + SECRETS
    if upload_package:
        runtime_env["py_modules"] = [package_dir(), *(env.get("py_modules") or [])]
    return StagedJob(job, working_dir, job_file, runtime_env, cluster_job["output"], uploaded, skipped)


def package_dir() -> str:
    import evalray

    return str(Path(evalray.__file__).resolve().parent)


def looks_secret(name: str) -> bool:
    """A dotfile or a file or directory name that credentials use (see :data:`SECRETS`)."""
    return any(fnmatch.fnmatch(name.lower(), pattern) for pattern in SECRETS)


def copy_tree(source: Path, target: Path, skipped: list[str]) -> int:
    """Copy ``source`` to ``target`` without caches, dotfiles or credentials (each one left out is added to
    ``skipped``); return the number of files copied."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        left_out = set(shutil.ignore_patterns(*EXCLUDES)(directory, names))
        secret = {n for n in names if n not in left_out and looks_secret(n)}
        skipped.extend(str(Path(directory) / n) for n in sorted(secret))
        return left_out | secret

    shutil.copytree(source, target, ignore=ignore, symlinks=True)
    return sum(1 for p in target.rglob("*") if p.is_file())


def copy_local(source: Path, folder: str, working_dir: Path, skipped: list[str]) -> tuple[int, str]:
    """A local file or directory copied under ``working_dir/folder``: (files copied, its path in the working_dir)."""
    if source.is_dir():
        return copy_tree(source, working_dir / folder, skipped), folder
    (working_dir / folder).mkdir(parents=True)
    shutil.copy2(source, working_dir / folder / source.name)
    return 1, f"{folder}/{source.name}"


def _refuse_secret(source: Path, key: str) -> None:
    parts = source.expanduser().resolve().parts
    if any(looks_secret(part) for part in parts[-1:]) or any(part in (".ssh", ".aws", ".gnupg") for part in parts):
        raise ConfigError(f"{key}: {source} looks like a credential or dotfile; evalray submit does not upload it")


def _stage_data_dirs(cluster_job: dict[str, Any], job: JobSpec, working_dir: Path, skipped: list[str]) -> list[str]:
    uploaded: list[str] = []
    for i, bench in enumerate(job.benchmarks):
        _stage_entry(cluster_job["benchmarks"][i], bench, f"benchmarks.{i}", str(i), working_dir, skipped, uploaded)
    return uploaded


def _stage_entry(raw: dict[str, Any], bench: Any, key: str, prefix: str, working_dir: Path, skipped: list[str],
                 uploaded: list[str]) -> None:
    """One benchmark entry's local data: its ``data_dir``, the ``path``/``dev_path`` of your own dataset (a file or a
    directory), and those of a collection's components."""
    if bench.data_dir and is_local_path(bench.data_dir):
        source = Path(bench.data_dir).expanduser()
        if not source.is_dir():
            raise ConfigError(f"{key}.data_dir: {bench.data_dir} is not a directory")
        _refuse_secret(source, f"{key}.data_dir")
        target = f"data/{prefix}-{dns_name(source.resolve().name, 40)}"
        files = copy_tree(source, working_dir / target, skipped)
        raw["data_dir"] = target
        uploaded.append(f"{bench.data_dir} -> {target} ({files} files)")
    for field in ("path", "dev_path"):
        value = getattr(bench, field, None)
        if not value or not is_local_path(value):
            continue
        source = Path(value).expanduser()
        if not source.exists():
            raise ConfigError(f"{key}.{field}: {value} does not exist")
        _refuse_secret(source, f"{key}.{field}")
        folder = f"data/{prefix}-{field.replace('_', '-')}-{dns_name(source.resolve().stem, 40)}"
        files, target = copy_local(source, folder, working_dir, skipped)
        raw[field] = target
        uploaded.append(f"{value} -> {target} ({files} files)")
    if getattr(bench, "collection", None) is not None:
        for j, part in enumerate(bench.collection.benchmarks):
            _stage_entry(raw["collection"]["benchmarks"][j], part, f"{key}.collection.benchmarks.{j}", f"{prefix}.{j}",
                         working_dir, skipped, uploaded)


def _stage_model_sources(cluster_job: dict[str, Any], job: JobSpec, working_dir: Path,
                         skipped: list[str]) -> list[str]:
    """Replay files and local checkpoints named by ``source`` are uploaded too (hub ids and URLs are not paths)."""
    uploaded = []
    from evalray.models.registry import plugin_for

    for i, model in enumerate(job.models):
        local_source = plugin_for(model).capabilities.local_source
        if local_source is None or not is_local_path(model.source):
            continue
        source = Path(model.source).expanduser()
        if not source.exists():
            if local_source == "file":  # recorded outputs must exist; a missing directory may be a hub id
                raise ConfigError(f"models.{i}.source: {model.source} does not exist")
            continue  # a hub id such as Qwen/Qwen2.5-0.5B
        _refuse_secret(source, f"models.{i}.source")
        name = source.resolve().name if source.is_dir() else source.stem
        target = f"models/{i}-{dns_name(name, 40)}"
        if source.is_dir():
            files = copy_tree(source, working_dir / target, skipped)
        else:
            target += source.suffix
            (working_dir / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, working_dir / target)
            files = 1
        cluster_job["models"][i]["source"] = target
        uploaded.append(f"{model.source} -> {target} ({files} files)")
    return uploaded


def _stage_embed(cluster_job: dict[str, Any], job: EmbedJobSpec, working_dir: Path, skipped: list[str]) -> list[str]:
    """A ``kind: embed`` job's local data (a directory or one file per task) and local model directories."""
    uploaded = []
    for key, entries, field in (("benchmarks", job.benchmarks, "data_dir"), ("models", job.models, "source")):
        for i, entry in enumerate(entries):
            value = getattr(entry, field)
            if not value or not is_local_path(value):
                continue
            source = Path(value).expanduser()
            if not source.exists():
                if field == "data_dir":
                    raise ConfigError(f"{key}.{i}.data_dir: {value} does not exist")
                continue  # a hub id
            _refuse_secret(source, f"{key}.{i}.{field}")
            folder = f"{'data' if field == 'data_dir' else 'models'}/{i}-{dns_name(source.resolve().name, 40)}"
            files, target = copy_local(source, folder, working_dir, skipped)
            cluster_job[key][i][field] = target
            uploaded.append(f"{value} -> {target} ({files} files)")
    return uploaded


def _stage_perf_prompts(cluster_job: dict[str, Any], job: PerfJobSpec, working_dir: Path,
                        skipped: list[str]) -> list[str]:
    """A perf job's ``prompts.data_dir`` (benchmark prompts from local data) travels like a benchmark's."""
    data_dir = job.prompts.data_dir
    if not data_dir or not is_local_path(data_dir):
        return []
    source = Path(data_dir).expanduser()
    if not source.is_dir():
        raise ConfigError(f"prompts.data_dir: {data_dir} is not a directory")
    _refuse_secret(source, "prompts.data_dir")
    target = f"data/prompts-{dns_name(source.resolve().name, 40)}"
    files = copy_tree(source, working_dir / target, skipped)
    cluster_job["prompts"]["data_dir"] = target
    return [f"{data_dir} -> {target} ({files} files)"]


def check_size(directory: Path) -> None:
    total = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    if total > MAX_UPLOAD_BYTES:
        raise ConfigError(
            f"the job's local files are {total / 2**20:.0f} MiB, above the {MAX_UPLOAD_BYTES // 2**20} MiB upload "
            "limit; put large data or checkpoints on shared storage or in the image and reference them there"
        )
