"""Backends as plugins: one :class:`BackendPlugin` per backend, looked up by the ``backend`` of a model spec.

A plugin holds everything the rest of evalray needs to know about a backend, so no code outside ``models/`` branches
on backend names:

* ``spec_type`` — its pydantic spec (a member of :data:`evalray.job.spec.AnyModelSpec`);
* ``module`` — the implementation, imported lazily (optional extras such as vLLM are needed only when used). The
  module provides ``BACKEND`` (a :class:`~evalray.models.base.Backend` run by :class:`~evalray.models.stage.ModelStage`
  actors) and may provide ``build_stage(ds, spec) -> ds`` (its own Ray Data chain, e.g. ``ray.data.llm``),
  ``driver_context(spec)`` (a context manager on the driver around the job that yields the effective spec, e.g. a
  deployed Serve app as an ``openai`` spec) and ``preflight(spec)`` (a fast one-line check on the driver before Ray
  starts);
* ``capabilities`` — what it can do (log-likelihoods, whether it forces generate mode, which sources are local files).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, ContextManager

from evalray.job.spec import MODEL_SPECS, ModelSpecBase


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, for the planner and the cluster tools."""

    loglikelihood: bool  # answers log-likelihood requests
    forces_generate: bool = False  # every benchmark runs in generate mode (recorded text only)
    local_source: str | None = None  # "dir": source may be a local checkpoint dir; "file": a local file or dir
    hosts_weights: bool = False  # loads model weights itself (GPU/CPU memory, dtype, BOS handling apply)
    recorded: bool = False  # answers are recorded or synthetic (no model behind them: never "the same model")


@dataclass(frozen=True)
class BackendPlugin:
    name: str
    module: str
    capabilities: Capabilities
    description: str

    @property
    def spec_type(self) -> type[ModelSpecBase]:
        return MODEL_SPECS[self.name]

    def load(self) -> ModuleType:
        from evalray.errors import BackendError

        try:
            return importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("evalray"):
                raise
            raise BackendError(f"backend '{self.name}' needs the missing package '{exc.name}'") from None

    def backend_class(self) -> type:
        return self.load().BACKEND

    def build_stage(self, ds, spec: ModelSpecBase, score_entries: str | None = None):
        """The model's generate stage: the module's own chain, else an actor pool of its Backend. ``score_entries``
        (only for plugins that do not host weights: their actors wait on an endpoint): the actors also score each
        batch (see ``ModelStage``)."""
        module = self.load()
        extra = {"score_entries": score_entries} if score_entries is not None else {}
        if hasattr(module, "build_stage"):
            return module.build_stage(ds, spec, **extra)
        from evalray.models.stage import actor_pool_stage

        return actor_pool_stage(ds, spec, self.module, quiet_transformers=self.capabilities.hosts_weights, **extra)

    def driver_context(self, spec: ModelSpecBase) -> ContextManager[ModelSpecBase]:
        module = self.load()
        if hasattr(module, "driver_context"):
            return module.driver_context(spec)
        from contextlib import nullcontext

        return nullcontext(spec)

    def preflight(self, spec: ModelSpecBase) -> None:
        hook: Callable[[Any], None] | None = getattr(self.load(), "preflight", None)
        if hook is not None:
            hook(spec)


PLUGINS: dict[str, BackendPlugin] = {
    plugin.name: plugin
    for plugin in (
        BackendPlugin("hf", "evalray.models.hf", Capabilities(True, local_source="dir", hosts_weights=True),
                      "transformers causal LM in each model actor"),
        BackendPlugin("vllm", "evalray.models.vllm_backend",
                      Capabilities(True, local_source="dir", hosts_weights=True), "vLLM engines via ray.data.llm"),
        BackendPlugin("openai", "evalray.models.openai_backend", Capabilities(True),
                      "any OpenAI-compatible endpoint"),
        BackendPlugin("serve", "evalray.serving.backend",
                      Capabilities(True, local_source="dir", hosts_weights=True),
                      "a Ray Serve app speaking the OpenAI API (deployed or attached)"),
        BackendPlugin("replay", "evalray.models.replay", Capabilities(False, forces_generate=True, local_source="file",
                                                                   recorded=True),
                      "recorded outputs re-scored"),
        BackendPlugin("simulated", "evalray.models.simulated", Capabilities(True, recorded=True),
                      "fixed-time stand-in engine for scaling measurements"),
    )
}


def plugin(name: str) -> BackendPlugin:
    from evalray.errors import BackendError

    if name not in PLUGINS:
        raise BackendError(f"unknown backend '{name}'")
    return PLUGINS[name]


def plugin_for(spec: ModelSpecBase) -> BackendPlugin:
    return plugin(spec.backend)


def backend_module(name: str) -> ModuleType:
    return plugin(name).load()


def backend_class(name: str) -> type:
    return plugin(name).backend_class()
