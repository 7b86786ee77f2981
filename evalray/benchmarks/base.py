"""Benchmark base classes. A concrete benchmark declares its data (:class:`Source`: hub dataset, splits, local file
patterns, id field), how one record becomes a :class:`Sample` (:meth:`Benchmark.parse`), its prompt
(:meth:`Benchmark.request`) and its scorer (:meth:`Benchmark.score`). Reading, sample ids, subsets, limits, few-shot
selection, repeats and the request stream live here, once for every benchmark.

Two shapes cover the library:

* :class:`MultipleChoice` — log-likelihood over the choices (lm-evaluation-harness prompts) or a generative
  ``ANSWER: X`` prompt for chat models.
* :class:`Benchmark` itself — a completion/chat prompt, an extractor and a comparison.

Loading and few-shot selection are cached per (benchmark, spec, seed) within a process (:func:`clear_cache`), so the
request rows of a second model reuse the first model's samples and shots.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Iterator

from evalray.benchmarks._io import read_csv_dicts, read_json, read_jsonl
from evalray.benchmarks._source import Group, Record, Source, Split, hub_groups, hub_rows, local_groups, own_ids, select_ids
from evalray.errors import ConfigError, did_you_mean
from evalray.job.spec import BenchmarkSpec
from evalray.scoring import extract, metrics
from evalray.types import Generation, Request, Sample, Score

__all__ = ["LETTERS", "Benchmark", "MultipleChoice", "Source", "Split", "chat_request", "clear_cache",
           "completion_request", "hub_rows", "resolve_data_dir"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Plan = tuple[tuple[Sample, tuple[Sample, ...]], ...]


def chat_request(content: str | list[dict[str, str]], max_tokens: int) -> Request:
    """A chat request: one user message, or the given message list."""
    messages = [{"role": "user", "content": content}] if isinstance(content, str) else content
    return Request(kind="generate", messages=tuple(messages), max_tokens=max_tokens)


def completion_request(prompt: str, max_tokens: int, stop: tuple[str, ...] = ()) -> Request:
    return Request(kind="generate", prompt=prompt, stop=stop, max_tokens=max_tokens)


class Benchmark:
    """A benchmark declares ``name``, ``source`` (its data), :meth:`parse` (one record -> a sample),
    :meth:`request` (its prompt) and :meth:`score`; a file layout that the suffix readers do not cover overrides
    :meth:`read_file`. Everything else is shared."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    source: ClassVar[Source]
    license: ClassVar[str] = ""
    items: ClassVar[int | None] = None  # number of scored samples in the full default split
    metrics: ClassVar[tuple[str, ...]] = ("acc",)
    default_few_shot: ClassVar[int] = 0
    shuffle_fewshot: ClassVar[bool] = False  # few-shot examples in a per-sample seeded order (else the split's first k)
    categories: ClassVar[dict[str, str]] = {}  # subset -> category (e.g. MMLU STEM / humanities ...)
    # scoring runs programs (the sandbox): it gets its own scoring tasks, never the model actors' spare CPU
    runs_code: ClassVar[bool] = False

    # ---- declared by each benchmark ------------------------------------------------------------------------------
    def parse(self, record: Record) -> Sample:
        """One raw record as a sample (id left empty: :meth:`samples` assigns it; subset set only where the record
        names it, as MMLU's hub rows do)."""
        raise NotImplementedError

    def read_file(self, path: Path) -> list[Record]:
        """The records of one local file, by its suffix (benchmarks with an odd layout override this)."""
        if path.name.endswith((".jsonl", ".jsonl.gz")):
            return read_jsonl(path)
        if path.suffix == ".csv":
            return read_csv_dicts(path)
        return list(read_json(path))

    def default_mode(self, chat: bool) -> str:
        return "generate"

    def request(self, sample: Sample, mode: str, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        raise NotImplementedError

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        raise NotImplementedError

    def sample(self, input: str, target: str = "", choices: tuple[str, ...] = (), metadata: dict[str, Any] | None = None,
               subset: str | None = None) -> Sample:
        """A sample of this benchmark from :meth:`parse` (its id is assigned later)."""
        return Sample(id="", benchmark=self.name, subset=subset, input=input, target=target, choices=tuple(choices),
                      metadata=metadata or {})

    # ---- samples and their ids -----------------------------------------------------------------------------------
    def samples(self, records: list[Record], subset: str | None = None) -> list[Sample]:
        """Samples from the raw records of one subset (or of a file holding every subset)."""
        return self._build([(subset, records)], self.source.split)

    def _build(self, groups: list[Group], split: Split) -> list[Sample]:
        """The one id rule (see :class:`Sample`): the dataset's own id field verbatim where it has one and it is
        unique over the split; otherwise the row index within the subset, prefixed by the subset."""
        field = self.source.id_field
        kept = [(subset, record) for subset, records in groups for record in select_ids(records, field, split.ids)]
        drafts = []
        for subset, record in kept:
            sample = self.parse(record)
            drafts.append(sample if sample.subset is not None or subset is None else replace(sample, subset=subset))
        ids = own_ids([record for _, record in kept], field) or _row_ids(drafts)
        return [replace(sample, id=sample_id) for sample, sample_id in zip(drafts, ids)]

    def read(self, spec: BenchmarkSpec, fewshot: bool = False) -> list[Sample]:
        """Every sample of the scored (or few-shot) split of the spec's chosen subsets, in file order."""
        split = self.source.fewshot if fewshot else self.source.split
        if split is None:
            return []
        return self._build(self._groups(spec, split, self._subsets_to_read(spec)), split)

    def _subsets_to_read(self, spec: BenchmarkSpec) -> list[str]:
        declared = list(self.source.subsets)
        if not (spec.subsets and declared):
            return declared
        unknown = [s for s in spec.subsets if s not in declared]
        if unknown:
            raise ConfigError(f"benchmark {self.name}: unknown subset '{unknown[0]}'{did_you_mean(unknown[0], declared)}")
        return [s for s in declared if s in spec.subsets]

    def _groups(self, spec: BenchmarkSpec, split: Split, subsets: list[str]) -> list[Group]:
        if spec.data_dir:
            data_dir = resolve_data_dir(spec.data_dir)
            if not data_dir.is_dir():
                raise ConfigError(f"benchmark {self.name}: data_dir {spec.data_dir} is not a directory")
            try:
                return local_groups(data_dir, split, subsets, self.read_file)
            except FileNotFoundError as exc:
                raise ConfigError(f"benchmark {self.name}: {exc.filename or exc} not found under data_dir {spec.data_dir}") from None
        try:
            return hub_groups(self.source, split, subsets)
        except ConfigError:
            raise
        except Exception as exc:  # offline, missing dataset, hub error
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"benchmark {self.name}: could not load {self.source.describe()} from the hub ({first}); "
                f"set data_dir to a local copy"
            ) from None

    # ---- subsets, limits, few-shot -------------------------------------------------------------------------------
    def load(self, spec: BenchmarkSpec) -> list[Sample]:
        """The samples to score: the chosen subsets, the first ``limit`` of each in file order (cached)."""
        return list(_cached_load(type(self), spec.model_dump_json()))

    def _load(self, spec: BenchmarkSpec) -> list[Sample]:
        rows = self.read(spec)
        if spec.subsets:
            known = {s.subset for s in rows}
            unknown = [s for s in spec.subsets if s not in known]
            if unknown:
                options = sorted(map(str, known))
                raise ConfigError(f"benchmark {self.name}: unknown subset '{unknown[0]}'{did_you_mean(unknown[0], options)}")
            rows = [s for s in rows if s.subset in set(spec.subsets)]
        if spec.limit:
            kept: list[Sample] = []
            per_subset: dict[str | None, int] = {}
            for sample in rows:
                count = per_subset.get(sample.subset, 0)
                if count < spec.limit:
                    kept.append(sample)
                    per_subset[sample.subset] = count + 1
            rows = kept
        return rows

    def few_shot(self, spec: BenchmarkSpec) -> int:
        return self.default_few_shot if spec.few_shot is None else spec.few_shot

    def fewshot_pool(self, spec: BenchmarkSpec) -> dict[str | None, list[Sample]]:
        pool: dict[str | None, list[Sample]] = {}
        if self.few_shot(spec) == 0:
            return pool
        for sample in self.read(spec, fewshot=True):
            pool.setdefault(sample.subset, []).append(sample)
        if not pool:
            raise ConfigError(f"benchmark {self.name}: few_shot > 0 but no few-shot split was found")
        return pool

    def shots_for(self, sample: Sample, pool: dict[str | None, list[Sample]], k: int, seed: int) -> list[Sample]:
        """The first k examples of the sample's subset (a fixed dev split, as MMLU's 5-shot), skipping the sample."""
        candidates = [s for s in pool.get(sample.subset, pool.get(None, []))
                      if not (s.uid == sample.uid and s.input == sample.input)]  # never the sample itself
        if self.shuffle_fewshot:
            candidates = list(candidates)
            random.Random(f"{seed}:{sample.uid}").shuffle(candidates)
        return candidates[:k]

    def plan(self, spec: BenchmarkSpec, seed: int) -> list[tuple[Sample, tuple[Sample, ...]]]:
        """(sample, few-shot examples) for every sample of the job entry; cached per (benchmark, spec, seed)."""
        return list(_cached_plan(type(self), spec.model_dump_json(), seed))

    def _plan(self, spec: BenchmarkSpec, seed: int) -> Plan:
        samples = self.load(spec)
        k = self.few_shot(spec)
        pool = self.fewshot_pool(spec) if k else {}
        return tuple((s, tuple(self.shots_for(s, pool, k, seed)) if k else ()) for s in samples)

    # ---- requests ------------------------------------------------------------------------------------------------
    def requests(self, spec: BenchmarkSpec, chat: bool, seed: int, force_generate: bool = False) -> Iterator[tuple[Sample, Request, str]]:
        """(sample, request, mode) for every sample of the job entry."""
        mode = "generate" if force_generate else (spec.mode or self.default_mode(chat))
        for sample, shots in self.plan(spec, seed):
            yield sample, self.finish(self.request(sample, mode, chat, list(shots), spec), sample, spec), mode

    def finish(self, request: Request, sample: Sample, spec: BenchmarkSpec) -> Request:
        """The spec's repeats and max_tokens on a generate request (else the benchmark's default length), and the uid."""
        if request.kind == "generate":
            request = replace(request, repeats=spec.repeats, max_tokens=spec.max_tokens or request.max_tokens)
        return replace(request, uid=sample.uid)

    def info(self) -> dict[str, Any]:
        subsets = ({"subsets": sorted(self.categories), "categories": sorted(set(self.categories.values()))}
                   if self.categories else {"subsets": list(self.source.subsets)} if self.source.subsets else {})
        return {
            "name": self.name,
            "description": self.description,
            "items": self.items,
            "metrics": list(self.metrics),
            "source": self.source.describe(),
            "license": self.license,
            "few_shot": self.default_few_shot,
            **subsets,
        }


def _row_ids(samples: list[Sample]) -> list[str]:
    """0-based row index within each subset, ``"<subset>/<index>"`` where the sample has a subset."""
    counts: dict[str | None, int] = {}
    ids = []
    for sample in samples:
        index = counts[sample.subset] = counts.get(sample.subset, -1) + 1
        ids.append(str(index) if sample.subset is None else f"{sample.subset}/{index}")
    return ids


@lru_cache(maxsize=32)
def _cached_load(cls: type[Benchmark], spec_json: str) -> tuple[Sample, ...]:
    return tuple(cls()._load(BenchmarkSpec.model_validate_json(spec_json)))


@lru_cache(maxsize=32)
def _cached_plan(cls: type[Benchmark], spec_json: str, seed: int) -> Plan:
    return cls()._plan(BenchmarkSpec.model_validate_json(spec_json), seed)


def clear_cache() -> None:
    """Forget the loaded samples and plans (tests that swap the data source under the same spec)."""
    _cached_load.cache_clear()
    _cached_plan.cache_clear()


def resolve_data_dir(data_dir: str) -> Path:
    """A data_dir path; ``builtin:NAME`` is a sample shipped in the package (``evalray/data/NAME``)."""
    if data_dir.startswith("builtin:"):
        from importlib import resources

        return Path(str(resources.files("evalray") / "data" / data_dir[len("builtin:"):]))
    return Path(data_dir).expanduser()


class MultipleChoice(Benchmark):
    """lm-evaluation-harness style multiple choice: ``context`` + " " + choice, scored by log-likelihood."""

    metrics = ("acc", "acc_norm")
    target_delimiter: ClassVar[str] = " "
    fewshot_delimiter: ClassVar[str] = "\n\n"

    def default_mode(self, chat: bool) -> str:
        return "generate" if chat else "loglikelihood"

    # subclasses: how one sample reads in the log-likelihood prompt, and its continuations
    def context(self, sample: Sample) -> str:
        return f"Question: {sample.input}\nAnswer:"

    def continuations(self, sample: Sample) -> list[str]:
        return list(sample.choices)

    def gold(self, sample: Sample) -> int:
        return int(sample.target)

    def preamble(self, sample: Sample) -> str:
        return ""

    def request(self, sample: Sample, mode: str, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        if mode == "generate":
            return self.generate_request(sample, chat, shots, spec)
        parts = [self.context(s) + self.target_delimiter + self.continuations(s)[self.gold(s)] for s in shots]
        prompt = self.preamble(sample) + "".join(p + self.fewshot_delimiter for p in parts) + self.context(sample)
        return Request(
            kind="loglikelihood",
            prompt=prompt,
            continuations=tuple(self.target_delimiter + c for c in self.continuations(sample)),
        )

    def generate_request(self, sample: Sample, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        letters = LETTERS[: len(sample.choices)]
        shot_text = "".join(
            extract.mc_question(s.input, s.choices) + f"\n\nANSWER: {LETTERS[self.gold(s)]}\n\n" for s in shots
        )
        text = extract.MC_INSTRUCTION.format(letters=letters) + "\n\n" + shot_text + extract.mc_question(sample.input, sample.choices)
        if chat:
            return chat_request(text, max_tokens=512)
        return completion_request(text + "\n\nANSWER:", max_tokens=8, stop=("\n",))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        gold = self.gold(sample)
        if mode == "loglikelihood":
            lengths = [len(c) for c in self.continuations(sample)]
            return metrics.multiple_choice_scores(generation.loglikelihoods, lengths, gold, self.metrics)
        letter = extract.choice_letter(generation.text, len(sample.choices))
        return Score(values={"acc": float(letter == LETTERS[gold])}, extracted=letter)
