"""Deploy a model as a Ray Serve app speaking the OpenAI API, wait until it answers, find existing apps, tear down.

Two app kinds, one API:

* ``vllm`` — Ray Serve LLM: ``ray.serve.llm.build_openai_app`` with an ``LLMConfig`` (GPU clusters with vLLM);
* ``hf`` — :mod:`evalray.serving.openai_app`, the ``hf`` backend behind the same endpoints (anywhere).

Every function expects a connected Ray (the caller owns ``ray.init``); Serve is started on demand on the spec's
host/port.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from evalray.errors import BackendError, ConfigError
from evalray.job.spec import ModelSpec
from evalray.serving.replicas import replica_settings


INGRESS_CPUS = 0.1


@dataclass(frozen=True)
class Deployment:
    app_name: str
    url: str  # the OpenAI base URL, ending in /v1
    model_id: str
    engine: str  # "vllm" | "hf" | "attached"


def app_name(spec: ModelSpec) -> str:
    return spec.serving.app_name or f"evalray-{_slug(spec.name)}"


def route_prefix(spec: ModelSpec) -> str:
    prefix = spec.serving.route_prefix or f"/{app_name(spec)}"
    return prefix if prefix.startswith("/") else "/" + prefix


def choose_engine(spec: ModelSpec) -> str:
    """``vllm`` (Ray Serve LLM) or ``hf`` for this spec."""
    if spec.serving.engine != "auto":
        return spec.serving.engine
    if spec.resources.num_gpus <= 0:
        return "hf"
    try:
        import vllm  # noqa: F401
    except Exception:
        return "hf"
    return "vllm"


def start_serve(spec: ModelSpec) -> None:
    """Start Serve on the spec's host/port unless it runs already (then its own address is kept)."""
    from ray import serve

    serve.start(http_options={"host": spec.serving.host, "port": spec.serving.port})


def http_base() -> str:
    """``http://host:port`` of the running Serve proxy."""
    details = _serve_details()
    options = details.get("http_options") or {}
    host = options.get("host") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{options.get('port') or 8000}"


def deploy(spec: ModelSpec, *, wait: bool = True) -> Deployment:
    """Deploy ``spec`` (a model source: checkpoint, hub id or builtin:) as a Serve app and wait until it answers."""
    from ray import serve

    from evalray.models.tiny import resolve_source

    engine = choose_engine(spec)
    name, prefix = app_name(spec), route_prefix(spec)
    model_id = spec.model_id or spec.name
    start_serve(spec)
    resolved = spec.model_copy(update={"source": resolve_source(spec.source)})
    if engine == "vllm":
        app = build_llm_app(resolved, model_id)
    else:
        from evalray.serving.openai_app import build_hf_app

        app = build_hf_app(resolved, model_id, name)
    try:
        serve.run(app, name=name, route_prefix=prefix, blocking=False)
    except Exception as exc:  # a replica that cannot start: one line, and nothing left behind
        _delete(name)
        raise BackendError(f"model '{spec.name}': Serve app '{name}' failed to deploy: {_one_line(exc)}") from None
    url = http_base() + (prefix.rstrip("/")) + "/v1"
    deployment = Deployment(name, url, model_id, engine)
    if wait:
        try:
            wait_healthy(deployment, spec.serving.startup_timeout_s)
        except BackendError:
            _delete(name)
            raise
    return deployment


def build_llm_app(spec: ModelSpec, model_id: str):
    """Ray Serve LLM's OpenAI app for ``spec`` (vLLM engine settings from ``engine:``)."""
    try:
        from ray.serve.llm import LLMConfig, build_openai_app
    except ImportError as exc:
        raise BackendError(f"serving.engine vllm needs Ray Serve LLM and vLLM: {exc}") from None
    from evalray.models.vllm_backend import engine_kwargs

    deployment: dict[str, Any] = {"max_ongoing_requests": spec.serving.max_ongoing_requests, **replica_settings(spec)}
    kwargs = engine_kwargs(spec)
    kwargs.pop("distributed_executor_backend", None)  # Serve LLM chooses its own executor
    config: dict[str, Any] = dict(
        model_loading_config={"model_id": model_id, "model_source": spec.source},
        engine_kwargs=kwargs,
        deployment_config=deployment,
        log_engine_metrics=False,
    )
    if spec.resources.accelerator_type:
        config["accelerator_type"] = spec.resources.accelerator_type
    if spec.resources.num_gpus <= 0:  # CPU engines: a CPU bundle instead of the default GPU one
        config["placement_group_config"] = {"bundles": [{"CPU": spec.resources.num_cpus}]}
    # the OpenAI router in front of the engines is light: a fraction of a CPU, not the default one
    ingress = {"ray_actor_options": {"num_cpus": INGRESS_CPUS}}
    return build_openai_app({"llm_configs": [LLMConfig(**config)], "ingress_deployment_config": ingress})


def wait_healthy(deployment: Deployment, timeout_s: float) -> None:
    """Poll the app's status and ``GET /v1/models`` until it answers; fail with the app's own message."""
    from ray import serve

    deadline = time.monotonic() + timeout_s
    last = "not started"
    while time.monotonic() < deadline:
        status = serve.status().applications.get(deployment.app_name)
        if status is not None and str(status.status).endswith(("DEPLOY_FAILED", "UNHEALTHY")):
            raise BackendError(f"Serve app '{deployment.app_name}' is {status.status}: {_one_line(status.message)}")
        if status is not None and str(status.status).endswith("RUNNING"):
            try:
                models = list_models(deployment.url, timeout_s=5.0)
                if deployment.model_id in models or not deployment.model_id:
                    return
                last = f"serves {models}, not '{deployment.model_id}'"
            except BackendError as exc:
                last = str(exc)
        elif status is not None:
            last = str(status.status)
        time.sleep(1.0)
    raise BackendError(f"Serve app '{deployment.app_name}' not healthy after {timeout_s:.0f} s ({last})")


def list_models(url: str, timeout_s: float = 5.0) -> list[str]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/models", timeout=timeout_s) as response:
            body = json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise BackendError(f"{url}/models: {getattr(exc, 'reason', exc)}") from None
    return [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)]


def attach(source: str, model_id: str | None = None) -> Deployment:
    """An existing app: ``serve://APP_NAME`` (in the connected Ray cluster) or an http(s) URL of its API."""
    if source.startswith("serve://"):
        name = source[len("serve://"):].strip("/")
        apps = _serve_details().get("applications") or {}
        if name not in apps:
            raise ConfigError(f"no Serve app named '{name}' (running: {', '.join(sorted(apps)) or 'none'})")
        prefix = apps[name].get("route_prefix") or "/"
        url = http_base() + prefix.rstrip("/") + "/v1"
    else:
        from evalray.models.openai_backend import base_url

        name, url = "", base_url(source)
    models = list_models(url)
    if model_id and model_id not in models:
        raise BackendError(f"{url} serves {models}, not '{model_id}'")
    if not models:
        raise BackendError(f"{url} lists no models")
    return Deployment(name, url, model_id or models[0], "attached")


def teardown(deployment: Deployment) -> None:
    """Delete the app and wait until Serve no longer lists it."""
    if deployment.engine != "attached" and deployment.app_name:
        _delete(deployment.app_name)


def _delete(name: str) -> None:
    from ray import serve

    try:
        serve.delete(name, _blocking=True)
    except Exception:  # already gone
        pass


def _serve_details() -> dict[str, Any]:
    # Ray 2.60 has no public Python call for the proxy address and the apps' route prefixes (the dashboard REST
    # API has them, but evalray runs Ray without the dashboard); the Serve client gives the same ServeInstanceDetails.
    from ray.serve.context import _get_global_client

    try:
        return _get_global_client().get_serve_details()
    except Exception as exc:
        raise BackendError(f"Ray Serve is not running in this Ray cluster ({_one_line(exc)})") from None


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-") or "model"


def _one_line(value: Any) -> str:
    text = " ".join(str(value).split())
    return text[:300] or "no message"
