"""The benchmark registry: every module in ``evalray.benchmarks`` registers its classes with :func:`register`."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from evalray.errors import ConfigError, did_you_mean

_REGISTRY: dict[str, type] = {}
_NOT_BENCHMARKS = {"base", "registry"}
_discovered = False
T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import evalray.benchmarks as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _NOT_BENCHMARKS and not module.name.startswith("_"):
            importlib.import_module(f"evalray.benchmarks.{module.name}")
    _discovered = True


def names() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def get(name: str):
    """A fresh instance of the named benchmark."""
    _discover()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown benchmark '{name}'{did_you_mean(name, sorted(_REGISTRY))}")
    return _REGISTRY[name]()
