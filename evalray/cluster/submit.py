"""``evalray submit``: validate a job locally, upload it with what it needs, run ``evalray run`` on the cluster as a
Ray job, and (``--wait``) follow it; ``--download`` copies the results back afterwards.

Results on the head node's disk are fetched with a tiny second Ray job that prints the output directory as a
base64 tar stream between marker lines; results at a filesystem URI (s3://, gs://) are copied with pyarrow.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import io
import shlex
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from evalray import __version__
from evalray.cluster import jobs
from evalray.cluster.render import Job, dns_name
from evalray.cluster.staging import CLUSTER_HOME, StagedJob, stage_job
from evalray.errors import EvalrayError
from evalray.job.perf_spec import PerfJobSpec

FETCH_KEY = "evalray.fetch"  # marks download helper jobs (hidden from `evalray jobs list` unless --all)
BEGIN, END, MISSING = "EVALRAY-FETCH-BEGIN", "EVALRAY-FETCH-END", "EVALRAY-FETCH-MISSING"
FETCH_SCRIPT = f"""
import base64, io, os, sys, tarfile
path = os.path.expanduser(sys.argv[1])
if not os.path.isdir(path):
    print("{MISSING}", path)
    sys.exit(3)
buffer = io.BytesIO()
with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
    tar.add(path, arcname=".")
data = base64.b64encode(buffer.getvalue()).decode()
print("{BEGIN}")
for i in range(0, len(data), 8192):
    print(data[i:i + 8192])
print("{END}", flush=True)
"""


@dataclass
class SubmitRequest:
    """What to submit and how."""

    job_file: str
    overrides: list[str] = field(default_factory=list)
    address: str | None = None
    submission_id: str | None = None
    output: str | None = None
    upload_package: bool = True
    entrypoint_num_cpus: float | None = None


@dataclass
class Submitted:
    submission_id: str
    dashboard_url: str
    output: str
    staged: StagedJob
    client: Any


def new_submission_id(job_name: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"evalray-{dns_name(job_name, 30)}-{stamp}-{uuid.uuid4().hex[:4]}"


def entrypoint(job_file: str) -> str:
    return f"python -m evalray.cli.main run {shlex.quote(job_file)} --address auto"


def metadata(staged: StagedJob, job_file: str) -> dict[str, str]:
    job = staged.job
    return {
        "evalray.job": job.name,
        "evalray.job_file": Path(job_file).name,
        "evalray.version": __version__,
        "evalray.output": staged.output,
        "evalray.kind": job.kind,
        **_what(job),
        "evalray.submitted_by": _user(),
    }


def _what(job: Job) -> dict[str, str]:
    """What the job measures: its models and benchmarks (eval), or the endpoint under test (perf)."""
    if isinstance(job, PerfJobSpec):
        return {"evalray.models": f"{job.target.model} @ {job.target.url}", "evalray.benchmarks": ""}
    return {"evalray.models": ",".join(m.name for m in job.models),
            "evalray.benchmarks": ",".join(b.name for b in job.benchmarks)}


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def submit(request: SubmitRequest, client: Any | None = None) -> Submitted:
    """Validate and stage first (a bad job file fails before any connection), then connect and submit."""
    from evalray.cluster.staging import load_raw

    _, job = load_raw(request.job_file, request.overrides)
    submission_id = request.submission_id or new_submission_id(job.name)
    with tempfile.TemporaryDirectory(prefix="evalray-submit-") as tmp:
        staged = stage_job(request.job_file, request.overrides, submission_id, Path(tmp), request.output,
                           request.upload_package)
        client = client or jobs.connect(request.address)
        kwargs: dict[str, Any] = {}
        if request.entrypoint_num_cpus is not None:
            kwargs["entrypoint_num_cpus"] = request.entrypoint_num_cpus
        try:
            client.submit_job(
                entrypoint=entrypoint(staged.job_file),
                submission_id=submission_id,
                runtime_env=staged.runtime_env,
                metadata=metadata(staged, request.job_file),
                **kwargs,
            )
        except Exception as exc:
            raise EvalrayError(f"submitting {request.job_file} failed: {jobs.one_line(exc)}") from None
    return Submitted(submission_id, jobs.dashboard_url(client, submission_id), staged.output, staged, client)


def wait(client: Any, submission_id: str, sink: Callable[[str], None] | None) -> Any:
    """Follow the logs (when ``sink`` is given) until the job ends; return its final JobInfo."""
    if sink is not None:
        jobs.tail_logs(client, submission_id, sink)
    return jobs.wait_for(client, submission_id)


def download(client: Any, output: str, destination: Path, timeout_s: float = 600) -> Path:
    """Copy a finished job's results to ``destination``: pyarrow for URIs, a fetch job for head-node paths."""
    destination.mkdir(parents=True, exist_ok=True)
    if "://" in output and not output.startswith("file://"):
        return _download_uri(output, destination)
    path = output.removeprefix("file://")
    return _download_from_head(client, path, destination, timeout_s)


def _download_uri(uri: str, destination: Path) -> Path:
    from pyarrow import fs

    try:
        source, path = fs.FileSystem.from_uri(uri)
        fs.copy_files(path, str(destination), source_filesystem=source, destination_filesystem=fs.LocalFileSystem())
    except Exception as exc:
        raise EvalrayError(f"cannot download {uri}: {jobs.one_line(exc)}") from None
    return destination


def shell_path(path: str) -> str:
    """Quote a head-node path for the fetch entrypoint, keeping a leading ``${HOME:-/tmp}`` expandable."""
    if path.startswith(CLUSTER_HOME):
        return f'"{CLUSTER_HOME}"' + shlex.quote(path[len(CLUSTER_HOME):])
    return shlex.quote(path)


def fetch_entrypoint(path: str) -> str:
    script = base64.b64encode(FETCH_SCRIPT.encode()).decode()
    return f"python -c \"import base64; exec(base64.b64decode('{script}'))\" {shell_path(path)}"


def _download_from_head(client: Any, path: str, destination: Path, timeout_s: float) -> Path:
    fetch_id = f"evalray-fetch-{uuid.uuid4().hex[:8]}"
    try:
        client.submit_job(entrypoint=fetch_entrypoint(path), submission_id=fetch_id,
                          metadata={FETCH_KEY: path})
    except Exception as exc:
        raise EvalrayError(f"cannot start the download job: {jobs.one_line(exc)}") from None
    info = jobs.wait_for(client, fetch_id, timeout_s=timeout_s, poll_s=0.5)
    logs = jobs.job_logs(client, fetch_id)
    if MISSING in logs:
        raise EvalrayError(f"no results at {path} on the head node (did the job write any?)")
    if jobs.status_name(info) != "SUCCEEDED" or BEGIN not in logs or END not in logs:
        raise EvalrayError(f"downloading {path} failed: {info.message or jobs.status_name(info)}")
    extract_archive(logs, destination)
    return destination


def extract_archive(logs: str, destination: Path) -> None:
    """Decode the base64 tar stream between the marker lines of ``logs`` into ``destination``."""
    body = logs.split(BEGIN, 1)[1].split(END, 1)[0]
    data = base64.b64decode("".join(line.strip() for line in body.splitlines()))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(destination, filter="data")
