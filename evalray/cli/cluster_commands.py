"""``evalray submit``, ``evalray jobs list|status|logs|stop`` and ``evalray kuberay render|validate``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import typer

from evalray.errors import EvalrayError

ADDRESS_HELP = "Ray dashboard address, e.g. http://HEAD:8265 (default: $RAY_ADDRESS, else http://127.0.0.1:8265)."


def register(app: typer.Typer) -> None:
    app.command("submit")(submit)
    jobs_app = typer.Typer(help="Ray jobs on a cluster: list, status, logs, stop, download.", no_args_is_help=True)
    jobs_app.command("list")(jobs_list)
    jobs_app.command("status")(jobs_status)
    jobs_app.command("logs")(jobs_logs)
    jobs_app.command("stop")(jobs_stop)
    jobs_app.command("download")(jobs_download)
    app.add_typer(jobs_app, name="jobs")
    kuberay_app = typer.Typer(help="KubeRay manifests: render a RayJob for a job file, validate manifests offline.",
                              no_args_is_help=True)
    kuberay_app.command("render")(kuberay_render)
    kuberay_app.command("validate")(kuberay_validate)
    app.add_typer(kuberay_app, name="kuberay")


def submit(
    job_file: str = typer.Argument(..., help="Job YAML file."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a key: -S models.0.replicas=4."),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    wait: bool = typer.Option(False, "--wait", help="Follow the logs and exit with the job's status."),
    download: Optional[Path] = typer.Option(None, "--download", help="With --wait: copy the results to this directory."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Result location on the cluster (path or URI)."),
    submission_id: Optional[str] = typer.Option(None, "--submission-id", help="Ray submission id (default: readable)."),
    no_package: bool = typer.Option(False, "--no-package", help="Do not upload the local evalray package "
                                    "(the cluster has evalray installed)."),
    entrypoint_num_cpus: Optional[float] = typer.Option(None, "--entrypoint-num-cpus", help="CPUs reserved for the driver."),
) -> None:
    """Run a job on a Ray cluster through the Ray Jobs API."""
    from evalray.cluster import jobs
    from evalray.cluster.submit import SubmitRequest, download as download_results, submit as submit_job, wait as wait_job

    if download is not None and not wait:
        from evalray.errors import ConfigError

        raise ConfigError("--download needs --wait")
    request = SubmitRequest(job_file, set_ or [], address, submission_id, output, not no_package, entrypoint_num_cpus)
    done = submit_job(request)
    client = done.client
    for item in done.staged.uploaded:
        typer.echo(f"uploaded:  {item}")
    for item in done.staged.skipped:
        typer.echo(f"left out:  {item} (a dotfile or credential)")
    typer.echo(f"submitted: {done.submission_id}")
    typer.echo(f"dashboard: {done.dashboard_url}")
    typer.echo(f"output:    {done.output} (on the cluster)")
    if not wait:
        typer.echo(f"follow with: evalray jobs logs {done.submission_id} --follow")
        return
    try:
        info = wait_job(client, done.submission_id, lambda chunk: typer.echo(chunk, nl=False))
    except KeyboardInterrupt:
        typer.echo(f"\nthe job keeps running; stop it with: evalray jobs stop {done.submission_id}", err=True)
        raise
    status = jobs.status_name(info)
    if download is not None and status == "SUCCEEDED":
        typer.echo(f"downloaded: {download_results(client, done.output, download)}")
    elif download is not None:  # a failed run may still have written partial results: fetch them if it did
        try:
            typer.echo(f"downloaded: {download_results(client, done.output, download)}")
        except EvalrayError as exc:
            typer.echo(f"warning: no results downloaded: {exc}", err=True)
    if status != "SUCCEEDED":
        raise EvalrayError(f"job {done.submission_id} {status}: {jobs.failure_summary(info.message)}")
    typer.echo(f"job {done.submission_id} SUCCEEDED")


def jobs_list(
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
    all_: bool = typer.Option(False, "--all", help="Also show evalray's download helper jobs."),
) -> None:
    """All jobs of the cluster, oldest first."""
    from evalray.cluster import jobs
    from evalray.cluster.submit import FETCH_KEY

    client = jobs.connect(address)
    rows = [j for j in jobs.list_jobs(client) if all_ or FETCH_KEY not in (j.metadata or {})]
    typer.echo(f"{'SUBMISSION ID':<48} {'STATUS':<10} {'STARTED':<19} JOB")
    for job in rows:
        name = (job.metadata or {}).get("evalray.job") or (job.entrypoint or "")[:40]
        typer.echo(f"{job.submission_id or job.job_id or '-':<48} {jobs.status_name(job):<10} "
                   f"{_time(job.start_time):<19} {name}")


def jobs_status(
    submission_id: str = typer.Argument(..., help="Submission id."),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Status, message, times and evalray metadata of one job."""
    from evalray.cluster import jobs

    client = jobs.connect(address)
    info = jobs.job_info(client, submission_id)
    typer.echo(f"submission id: {submission_id}")
    typer.echo(f"status:        {jobs.status_name(info)}")
    if info.message:
        typer.echo(f"message:       {info.message}")
    typer.echo(f"started:       {_time(info.start_time)}")
    typer.echo(f"ended:         {_time(info.end_time)}")
    for key, value in sorted((info.metadata or {}).items()):
        typer.echo(f"{key.removeprefix('evalray.') + ':':<15}{value}")
    typer.echo(f"dashboard:     {jobs.dashboard_url(client, submission_id)}")


def jobs_logs(
    submission_id: str = typer.Argument(..., help="Submission id."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming until the job ends."),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """The job's driver logs."""
    from evalray.cluster import jobs

    client = jobs.connect(address)
    jobs.job_info(client, submission_id)  # a clear 'no job' error instead of a websocket failure
    if follow:
        jobs.tail_logs(client, submission_id, lambda chunk: typer.echo(chunk, nl=False))
    else:
        typer.echo(jobs.job_logs(client, submission_id), nl=False)


def jobs_stop(
    submission_id: str = typer.Argument(..., help="Submission id."),
    wait: bool = typer.Option(False, "--wait", help="Wait until the job has stopped."),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Ask a running job to stop."""
    from evalray.cluster import jobs

    client = jobs.connect(address)
    stopped = jobs.stop_job(client, submission_id)
    if not stopped:
        info = jobs.job_info(client, submission_id)
        typer.echo(f"{submission_id} already ended: {jobs.status_name(info)}")
        return
    if wait:
        info = jobs.wait_for(client, submission_id, timeout_s=120)
        typer.echo(f"{submission_id} {jobs.status_name(info)}")
    else:
        typer.echo(f"stop requested: {submission_id}")


def jobs_download(
    submission_id: str = typer.Argument(..., help="Submission id of an evalray job."),
    directory: Path = typer.Argument(..., help="Where to put the results."),
    address: Optional[str] = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Copy the results of a finished `evalray submit` job to DIRECTORY."""
    from evalray.cluster import jobs
    from evalray.cluster.submit import download as download_results

    client = jobs.connect(address)
    info = jobs.job_info(client, submission_id)
    output = (info.metadata or {}).get("evalray.output")
    if not output:
        raise EvalrayError(f"job '{submission_id}' was not submitted by evalray submit (no evalray.output metadata)")
    if jobs.status_name(info) not in jobs.TERMINAL:
        raise EvalrayError(f"job '{submission_id}' is still {jobs.status_name(info)}; download it when it has ended")
    typer.echo(f"downloaded: {download_results(client, output, directory)}")


def kuberay_render(
    job_file: str = typer.Argument(..., help="Job YAML file."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a key: -S models.0.replicas=4."),
    image: Optional[str] = typer.Option(None, "--image", help="Image with evalray installed."),
    gpus_per_worker: Optional[int] = typer.Option(None, "--gpus-per-worker", help="GPUs per GPU worker pod."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Worker pods per group (default: enough for all actors)."),
    cpus_per_worker: int = typer.Option(4, "--cpus-per-worker", help="CPUs per worker pod (at least)."),
    memory_per_worker: Optional[str] = typer.Option(None, "--memory-per-worker", help="Memory per worker pod, e.g. 32Gi."),
    name: Optional[str] = typer.Option(None, "--name", help="RayJob name (default: evalray-<job name>)."),
    namespace: Optional[str] = typer.Option(None, "--namespace", "-n", help="Namespace of the objects."),
    inline: bool = typer.Option(False, "--inline", help="Carry the job file in the entrypoint, not a ConfigMap."),
    node_selector: Optional[List[str]] = typer.Option(None, "--node-selector", help="KEY=VALUE for the worker pods."),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="Check the output against the KubeRay CRDs."),
    crds: Optional[Path] = typer.Option(None, "--crds", help="Folder with the KubeRay CRD YAML files."),
) -> None:
    """Print a RayJob (and a ConfigMap with the job file) that runs JOB_FILE on a cluster sized for it."""
    from evalray.cluster.render import RenderOptions, render, to_yaml
    from evalray.cluster.staging import load_raw

    selector = dict(_key_value(item) for item in node_selector or [])
    raw, job = load_raw(job_file, set_ or [])
    opts = RenderOptions(image=image, gpus_per_worker=gpus_per_worker, workers=workers, cpus_per_worker=cpus_per_worker,
                         memory_per_worker=memory_per_worker, name=name, namespace=namespace, inline=inline,
                         node_selector=selector)
    objects, warnings = render(job, raw, opts)
    text = to_yaml(objects)
    if validate:
        _validate_rendered(text, crds)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(text, nl=False)


def _validate_rendered(text: str, crds: Optional[Path]) -> None:
    from evalray.cluster import crd
    from evalray.cluster.validate import validate_text

    if crds is None and crd.default_crd_dir() is None:
        typer.echo("warning: KubeRay CRDs not found (--crds); output not validated", err=True)
        return
    problems = validate_text(text, "rendered", crds)
    if problems:
        raise EvalrayError(f"rendered manifest is invalid: {problems[0]}")


def _key_value(item: str) -> tuple[str, str]:
    from evalray.errors import ConfigError

    if "=" not in item:
        raise ConfigError(f"--node-selector {item}: expected KEY=VALUE")
    key, value = item.split("=", 1)
    return key, value


def kuberay_validate(
    files: List[Path] = typer.Argument(..., help="Manifest files (multi-document YAML allowed)."),
    crds: Optional[Path] = typer.Option(None, "--crds", help="Folder with the KubeRay CRD YAML files."),
) -> None:
    """Validate manifests offline against the KubeRay CRD schemas (defaults applied, unknown fields forbidden)."""
    from evalray.cluster.validate import validate_file

    failed = 0
    for path in files:
        if not path.is_file():
            raise EvalrayError(f"{path}: no such file")
        problems = validate_file(path, crds)
        for problem in problems:
            typer.echo(str(problem), err=True)
        if problems:
            failed += 1
        else:
            typer.echo(f"ok: {path}")
    if failed:
        raise EvalrayError(f"{failed} of {len(files)} manifest file(s) invalid")


def _time(millis: Optional[int]) -> str:
    if not millis:
        return "-"
    return dt.datetime.fromtimestamp(millis / 1000).strftime("%Y-%m-%d %H:%M:%S")
