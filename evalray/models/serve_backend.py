"""``backend: serve``: evaluate through a Ray Serve app that speaks the OpenAI API.

:func:`driver_context` runs on the driver around the job. With a model ``source`` (checkpoint, hub id,
``builtin:tiny-llama``) it deploys the model (Ray Serve LLM when vLLM and GPUs are there, else evalray's hf-backed
deployment; ``serving:`` chooses), waits until it answers, yields an ``openai`` spec pointing at it, and deletes the
app at the end unless ``keep: true``. With ``serve://APP_NAME`` or an http(s) URL it attaches to a running app and
never tears it down.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from evalray.errors import BackendError
from evalray.job.spec import ModelSpec, Resources
from evalray.models.openai_backend import OpenAIBackend

ATTACH_PREFIXES = ("serve://", "http://", "https://")
CLIENT_CPUS = 0.25


def client_spec(spec: ModelSpec, url: str, model_id: str) -> ModelSpec:
    """The ``openai`` spec that evaluates through the deployment (one light client actor per requested replica)."""
    return spec.model_copy(update={
        "backend": "openai", "source": url, "model_id": model_id, "replicas": 1,
        "resources": Resources(num_cpus=CLIENT_CPUS), "keep": True,
    })


@contextmanager
def driver_context(spec: ModelSpec) -> Iterator[ModelSpec]:
    import ray

    from evalray.serving import deploy

    if spec.source.startswith(("http://", "https://")):  # a plain URL needs no Ray on the driver
        yield client_spec(spec, *_url_and_model(deploy.attach(spec.source, spec.model_id)))
        return
    started = _ensure_ray()
    try:
        if spec.source.startswith("serve://"):
            deployment = deploy.attach(spec.source, spec.model_id)
        else:
            deployment = deploy.deploy(spec)
        try:
            yield client_spec(spec, deployment.url, deployment.model_id)
        finally:
            if not spec.keep:
                deploy.teardown(deployment)
    finally:
        if started:
            ray.shutdown()


def _url_and_model(deployment) -> tuple[str, str]:
    return deployment.url, deployment.model_id


def _ensure_ray() -> bool:
    """Serve needs Ray on the driver. The runner normally connects first; if not, start an embedded local Ray
    (as the runner would: 127.0.0.1, no dashboard) and report that this context owns it."""
    import os

    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray.init(include_dashboard=False, logging_level="WARNING")
    return True


class ServeBackend(OpenAIBackend):
    """A model actor of an attached app (the job normally gets an ``openai`` spec from :func:`driver_context`)."""

    def __init__(self, spec: ModelSpec) -> None:
        if not spec.source.startswith(ATTACH_PREFIXES):
            raise BackendError(f"model '{spec.name}': backend 'serve' deploys from the driver (driver_context); "
                               "a model actor can only attach to serve://APP_NAME or an http(s) URL")
        if spec.source.startswith("serve://"):
            from evalray.serving import deploy

            deployment = deploy.attach(spec.source, spec.model_id)
            spec = client_spec(spec, deployment.url, deployment.model_id)
        super().__init__(spec)


BACKEND = ServeBackend
