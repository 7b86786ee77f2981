"""``evalray serve``: host a model as a Ray Serve app speaking the OpenAI API, for ``evalray perf`` or any client."""

from __future__ import annotations

import signal
import threading
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    job_file: Optional[str] = typer.Argument(None, help="Job YAML file: its model (or --model-name) is served."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model source instead of a job file: "
                                        "checkpoint dir, hub id or builtin:tiny-llama."),
    model_name: Optional[str] = typer.Option(None, "--model-name", help="Job file: which model; --model: its name "
                                             "(the id clients send; default: the model's name)."),
    set_: Optional[List[str]] = typer.Option(None, "-S", "--set", help="Override a job key: -S models.0.replicas=2."),
    replicas: Optional[int] = typer.Option(None, "--replicas", help="Fixed number of replicas."),
    min_replicas: Optional[int] = typer.Option(None, "--min-replicas", help="Autoscaling: fewest replicas."),
    max_replicas: Optional[int] = typer.Option(None, "--max-replicas", help="Autoscaling: most replicas."),
    target_ongoing: Optional[float] = typer.Option(None, "--target-ongoing", help="Autoscaling: requests per replica."),
    engine: Optional[str] = typer.Option(None, "--engine", help="auto | vllm (Ray Serve LLM) | hf."),
    num_cpus: Optional[float] = typer.Option(None, "--num-cpus", help="CPUs per replica."),
    num_gpus: Optional[float] = typer.Option(None, "--num-gpus", help="GPUs per replica."),
    host: Optional[str] = typer.Option(None, "--host", help="HTTP host of the Serve proxy (default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", help="HTTP port of the Serve proxy (default 8000)."),
    route_prefix: str = typer.Option("/", "--route-prefix", help="Route of the app: the API is at <prefix>/v1."),
    app_name: Optional[str] = typer.Option(None, "--app-name", help="Serve application name."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray address ('auto': a running cluster); "
                                          "default: an embedded local Ray that lives as long as this command."),
    detach: bool = typer.Option(False, "--detach", help="Leave the app running and exit (needs --address)."),
) -> None:
    """Deploy one model as a Ray Serve app with the OpenAI API (/v1/models, /v1/completions, /v1/chat/completions),
    print its URL, and serve until Ctrl-C (then the app is deleted) or, with --detach, leave it running."""
    from evalray.errors import ConfigError

    from evalray.job.spec import parse_model_spec

    data = _deployable(_spec(job_file, model, model_name, set_ or []))
    data.update(keep=detach)
    data["serving"].update({k: v for k, v in dict(engine=engine, host=host, port=port, app_name=app_name,
                                                   route_prefix=route_prefix).items() if v is not None})
    if min_replicas is not None or max_replicas is not None or target_ongoing is not None:
        low = 1 if min_replicas is None else min_replicas
        scaling = {"min_replicas": low, "max_replicas": max_replicas if max_replicas is not None else max(1, low)}
        if target_ongoing is not None:
            scaling["target_ongoing_requests"] = target_ongoing
        data["serving"]["autoscaling"] = scaling
    if replicas is not None:
        data["replicas"] = replicas
    data["resources"].update({k: v for k, v in dict(num_cpus=num_cpus, num_gpus=num_gpus).items() if v is not None})
    try:
        spec = parse_model_spec(data)
    except Exception as exc:
        raise ConfigError(f"invalid serve settings: {' '.join(str(exc).split())[:300]}") from None
    if detach and not address:
        raise ConfigError("--detach needs --address (an embedded Ray ends with this command)")
    _serve(spec, address, detach)


def _spec(job_file: Optional[str], model: Optional[str], model_name: Optional[str], overrides: list[str]):
    from evalray.errors import ConfigError
    from evalray.job.spec import ServeModelSpec

    if bool(job_file) == bool(model):
        raise ConfigError("give a job file or --model SOURCE (one of them)")
    if model:
        return ServeModelSpec(name=model_name or _default_name(model), backend="serve", source=model)
    from evalray.job.loader import load_job

    job = load_job(job_file, overrides)
    models = job.models
    if model_name:
        models = [m for m in models if m.name == model_name]
        if not models:
            raise ConfigError(f"{job_file} has no model named '{model_name}' "
                              f"(models: {', '.join(m.name for m in job.models)})")
    elif len(models) > 1:
        raise ConfigError(f"{job_file} has {len(models)} models; choose one with --model-name")
    chosen = models[0]
    from evalray.models.registry import plugin_for

    if chosen.source.startswith(("serve://", "http://", "https://")) or not plugin_for(chosen).capabilities.hosts_weights:
        raise ConfigError(f"model '{chosen.name}' has no model source to deploy ({chosen.source})")
    return chosen


def _deployable(chosen) -> dict:
    """The chosen model's settings as a ``serve`` spec: its own options that a Serve deployment has too."""
    from evalray.job.spec import ServeModelSpec

    data = chosen.model_dump(exclude_unset=True)
    data = {k: v for k, v in data.items() if k in ServeModelSpec.model_fields}
    data.update(backend="serve")
    data.setdefault("serving", {})
    data.setdefault("resources", {})
    return data


def _default_name(source: str) -> str:
    return source.rstrip("/").split("/")[-1].split(":")[-1] or "model"


def _serve(spec, address: Optional[str], detach: bool) -> None:
    from evalray.runtime import start_ray, stop_ray
    from evalray.serving import deploy

    started = start_ray(address, namespace="evalray-serve")
    typer.echo(f"deploying '{spec.name}' ({spec.source}) as Serve app '{deploy.app_name(spec)}' ...")
    deployment = deploy.deploy(spec)
    typer.echo(f"serving model '{deployment.model_id}' ({deployment.engine}) at {deployment.url}")
    typer.echo(f"try: evalray perf --url {deployment.url} --model {deployment.model_id} --api completions")
    if detach:
        typer.echo(f"left running; remove with: serve.delete('{deployment.app_name}') or `serve shutdown`")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    finally:
        typer.echo("stopping: deleting the Serve app")
        deploy.teardown(deployment)
        stop_ray(started)
