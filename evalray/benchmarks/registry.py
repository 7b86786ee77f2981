"""The benchmark registry: every module in ``evalray.benchmarks`` registers its classes with :func:`register`."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING, TypeVar

from evalray.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from evalray.job.spec import BenchmarkSpec

_REGISTRY: dict[str, type] = {}
_NOT_BENCHMARKS = {"base", "registry", "batch_scoring"}
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


def for_entry(entry: "BenchmarkSpec"):
    """The benchmark of a job's entry: a built-in one by name, your own dataset (``type:``) or a collection (one
    instance per distinct entry in a process, so its samples are read once)."""
    if entry.type is None and entry.collection is None:
        return get(entry.name)
    return _declared(entry.model_dump_json())


@lru_cache(maxsize=64)
def _declared(entry_json: str):
    from evalray.job.spec import BenchmarkSpec

    entry = BenchmarkSpec.model_validate_json(entry_json)
    if entry.collection is not None:
        from evalray.benchmarks._collection import Collection

        return Collection(entry, for_entry)
    from evalray.benchmarks._general import general_benchmark

    return general_benchmark(entry)
