"""``backend: serve``: evaluate through a Ray Serve app that speaks the OpenAI API (the plugin module that
:mod:`evalray.models.registry` names; it lives with serving, which it deploys through).

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
from evalray.job.spec import ClientOptions, OpenAIModelSpec, Resources, ServeModelSpec
from evalray.models.openai_backend import OpenAIBackend

ATTACH_PREFIXES = ("serve://", "http://", "https://")
CLIENT_CPUS = 0.25


def client_spec(spec: ServeModelSpec, url: str, model_id: str) -> OpenAIModelSpec:
    """The ``openai`` spec that evaluates through the deployment (one light client actor)."""
    shared = {name: getattr(spec, name) for name in ("name", "chat", "generation", "batch_size")}
    client = {name: getattr(spec, name) for name in ClientOptions.model_fields if name != "model_id"}
    return OpenAIModelSpec(backend="openai", source=url, model_id=model_id, replicas=1,
                           resources=Resources(num_cpus=CLIENT_CPUS), **shared, **client)


@contextmanager
def driver_context(spec: ServeModelSpec) -> Iterator[OpenAIModelSpec]:
    from evalray.runtime import ray_session
    from evalray.serving import deploy

    if spec.source.startswith(("http://", "https://")):  # a plain URL needs no Ray on the driver
        yield client_spec(spec, *_url_and_model(deploy.attach(spec.source, spec.model_id)))
        return
    with ray_session():  # Serve needs Ray on the driver: the runner's, else an embedded one for this context
        if spec.source.startswith("serve://"):
            deployment = deploy.attach(spec.source, spec.model_id)
        else:
            deployment = deploy.deploy(spec)
        try:
            yield client_spec(spec, deployment.url, deployment.model_id)
        finally:
            if not spec.keep:
                deploy.teardown(deployment)


def _url_and_model(deployment) -> tuple[str, str]:
    return deployment.url, deployment.model_id


class ServeBackend(OpenAIBackend):
    """A model actor of an attached app (the job normally gets an ``openai`` spec from :func:`driver_context`)."""

    def __init__(self, spec: ServeModelSpec) -> None:
        if not spec.source.startswith(ATTACH_PREFIXES):
            raise BackendError(f"model '{spec.name}': backend 'serve' deploys from the driver (driver_context); "
                               "a model actor can only attach to serve://APP_NAME or an http(s) URL")
        if spec.source.startswith("serve://"):
            from evalray.serving import deploy

            deployment = deploy.attach(spec.source, spec.model_id)
            super().__init__(client_spec(spec, deployment.url, deployment.model_id))
        else:
            super().__init__(client_spec(spec, spec.source, spec.model_id or ""))


BACKEND = ServeBackend


def preflight(spec: ServeModelSpec) -> None:
    """A model to deploy must be loadable; an attached URL is checked when the app is attached."""
    if not spec.source.startswith(ATTACH_PREFIXES):
        from evalray.models.checkpoint import preflight as check_weights

        check_weights(spec)
