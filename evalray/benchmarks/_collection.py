"""Collections: several benchmarks (or subsets of them) sampled into one scored set (``collection:`` of an entry).

Each component is a benchmark entry of its own; its samples are drawn without replacement, reproducibly from the
seed (``random.Random("<seed>:<label>")`` over the component's ids in sorted order), in the sizes that ``sampling``
gives (:func:`quotas`):

* ``weighted`` — in proportion to ``weights`` (largest remainder rounding; a component without enough samples for
  its share is an error naming it); without ``size``, the largest collection the components allow;
* ``stratified`` — in proportion to each component's own size (without ``size``: every sample);
* ``uniform`` — the same number from each component (without ``size``: the smallest component's size each).

A collection sample keeps its component's prompt and scorer; its id is ``<label>/<component id>``, its subset the
component's label, and its one metric ``score`` the component's primary metric (gsm8k exact_match, mmlu acc, ...),
so ``result.json`` has a ``score`` row per component (``level: subset``), the overall micro average over the drawn
samples (which follows the weights) and ``score_macro`` (the components' plain mean).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from evalray.benchmarks.base import Benchmark, Source, Split
from evalray.errors import ConfigError
from evalray.job.spec import BenchmarkSpec, collection_labels
from evalray.types import Generation, Request, Sample, Score

KEY = "collection"  # the sample metadata key holding the component's own identity


def quotas(available: dict[str, int], weights: list[float], sampling: str, size: int | None) -> dict[str, int]:
    """Samples to draw from each component (in the order of ``available``)."""
    labels = list(available)
    if sampling == "stratified":
        shares = [float(available[x]) for x in labels]
        total = sum(available.values())
        size = total if size is None else size
        if size > total:
            raise ConfigError(f"collection: size {size} is more than the {total} samples of its components")
    else:
        shares = [float(w) for w in weights] if sampling == "weighted" else [1.0] * len(labels)
        if size is None:  # the largest size whose every share fits
            size = min(math.floor(available[x] * sum(shares) / s + 1e-9) for x, s in zip(labels, shares) if s > 0)
    counts = _largest_remainder(size, shares)
    for label, count in zip(labels, counts):
        if count > available[label]:
            raise ConfigError(f"collection: component {label} has {available[label]} samples, its share of {size} is "
                              f"{count}; lower `size` or give it more data")
    return dict(zip(labels, counts))


def _largest_remainder(size: int, shares: list[float]) -> list[int]:
    total = sum(shares)
    exact = [size * s / total for s in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))  # ties: the earlier component
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    return counts


def draw(ids: dict[str, list[str]], weights: list[float], sampling: str, size: int | None,
         seed: int) -> dict[str, list[str]]:
    """The chosen ids of each component: the same arguments, the same ids, whatever order ``ids`` came in."""
    counts = quotas({label: len(v) for label, v in ids.items()}, weights, sampling, size)
    return {label: random.Random(f"{seed}:{label}").sample(sorted(ids[label]), counts[label]) for label in ids}


class Collection(Benchmark):
    metrics = ("score",)

    def __init__(self, spec: BenchmarkSpec, build: Callable[[BenchmarkSpec], Any]) -> None:
        assert spec.collection is not None
        self.spec, self.name, self.collection = spec, spec.name, spec.collection
        self.labels = collection_labels(self.collection)
        # a component without its own mode takes the collection's
        self.entries = {label: (c if c.mode or not spec.mode else c.model_copy(update={"mode": spec.mode}))
                        for label, c in zip(self.labels, self.collection.benchmarks)}
        self.parts = {label: build(entry) for label, entry in self.entries.items()}
        for label, part in self.parts.items():
            if getattr(part, "judged", False):
                raise ConfigError(f"benchmark {self.name}: component {label} is scored by judges; a collection "
                                  "mixes rule-scored benchmarks")
        self.runs_code = any(part.runs_code for part in self.parts.values())
        self.source = Source("collection of " + ", ".join(self.labels), split=Split("test"))
        self.description = f"collection of {', '.join(self.labels)} ({self.collection.sampling})"
        self._chosen: dict[int, dict[str, set[str]]] = {}

    def chosen(self, seed: int) -> dict[str, set[str]]:
        """The drawn component ids, per component label (the collection's seed, else the job's)."""
        seed = self.collection.seed if self.collection.seed is not None else seed
        if seed not in self._chosen:
            ids = {label: [s.id for s in self.parts[label].load(self.entries[label])] for label in self.labels}
            try:
                drawn = draw(ids, self.collection.weight_list(), self.collection.sampling, self.collection.size, seed)
            except ConfigError as exc:
                raise ConfigError(f"benchmark {self.name}: {str(exc).removeprefix('collection: ')}") from None
            self._chosen[seed] = {label: set(v) for label, v in drawn.items()}
        return self._chosen[seed]

    def wrap(self, label: str, sample: Sample) -> Sample:
        own = {"component": label, "benchmark": sample.benchmark, "id": sample.id, "subset": sample.subset}
        return Sample(id=f"{label}/{sample.id}", benchmark=self.name, subset=label, input=sample.input,
                      target=sample.target, choices=sample.choices, metadata={**sample.metadata, KEY: own})

    def unwrap(self, sample: Sample) -> tuple[str, Sample]:
        own = sample.metadata[KEY]
        metadata = {k: v for k, v in sample.metadata.items() if k != KEY}
        return own["component"], replace(sample, id=own["id"], benchmark=own["benchmark"], subset=own["subset"],
                                         metadata=metadata)

    def load(self, spec: BenchmarkSpec, seed: int = 0) -> list[Sample]:
        chosen = self.chosen(seed)
        return [self.wrap(label, s) for label in self.labels for s in self.parts[label].load(self.entries[label])
                if s.id in chosen[label]]

    def requests(self, spec: BenchmarkSpec, chat: bool, seed: int, force_generate: bool = False):
        """Each drawn sample's request, built by its component (its prompt, few-shot examples and mode)."""
        chosen = self.chosen(seed)
        for label in self.labels:
            part, entry = self.parts[label], self.entries[label]
            mode = "generate" if force_generate else (entry.mode or part.default_mode(chat))
            for sample, shots in part.plan(entry, seed):
                if sample.id in chosen[label]:
                    wrapped = self.wrap(label, sample)
                    request: Request = part.finish(part.request(sample, mode, chat, list(shots), entry), sample, entry)
                    yield wrapped, replace(request, uid=wrapped.uid), mode

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        label, own = self.unwrap(sample)
        part = self.parts[label]
        scored = part.score(own, generation, mode)
        primary = part.metrics[0] if part.metrics and part.metrics[0] in scored.values else next(iter(scored.values))
        return Score(values={"score": scored.values[primary]}, extracted=scored.extracted)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "subsets": list(self.labels)}
