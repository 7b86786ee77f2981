"""Backend names -> implementations, imported lazily so optional extras (vllm) are only needed when used.

A backend module provides a :class:`~evalray.models.base.Backend` subclass, run by evalray's own actor pool, and may
also provide:

* ``build_stage(ds, spec) -> ds`` — replaces the actor-pool generate stage (e.g. ``ray.data.llm`` for vLLM); it takes
  rows with the request columns and returns them with :data:`~evalray.models.base.OUTPUT_COLUMNS` added;
* ``driver_context(spec)`` — a context manager run on the driver around the whole job that yields the effective
  ModelSpec (e.g. deploys a Ray Serve app, yields an ``openai`` spec pointing at it, and tears it down).
"""

from __future__ import annotations

import importlib
from types import ModuleType

BACKEND_MODULES = {
    "hf": "evalray.models.hf",
    "openai": "evalray.models.openai_backend",
    "replay": "evalray.models.replay",
    "vllm": "evalray.models.vllm_backend",
    "serve": "evalray.models.serve_backend",
}


def backend_module(name: str) -> ModuleType:
    from evalray.errors import BackendError

    try:
        return importlib.import_module(BACKEND_MODULES[name])
    except ModuleNotFoundError as exc:
        raise BackendError(f"backend '{name}' needs the missing package '{exc.name}'") from None


def backend_class(name: str) -> type:
    return backend_module(name).BACKEND
