"""Benchmark base classes. A concrete benchmark declares its sources and prompt pieces; loading, few-shot selection,
limits, requests and scoring live here and in :mod:`evalray.scoring`.

Two shapes cover the library:

* :class:`MultipleChoice` — log-likelihood over the choices (lm-evaluation-harness prompts) or a generative
  ``ANSWER: X`` prompt for chat models.
* :class:`Generative` — a completion/chat prompt, an extractor and a comparison.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator

from evalray.errors import ConfigError
from evalray.job.spec import BenchmarkSpec
from evalray.scoring import extract, metrics
from evalray.types import Generation, Request, Sample, Score

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class HubSource:
    """A Hugging Face hub dataset: ``load_dataset(path, config, split=split)``."""

    path: str
    config: str | None = None
    split: str = "test"
    fewshot_split: str | None = None

    def describe(self) -> str:
        return f"{self.path}" + (f" ({self.config})" if self.config else "") + f" [{self.split}]"


class Benchmark:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    hub: ClassVar[HubSource]
    license: ClassVar[str] = ""
    items: ClassVar[int | None] = None  # number of scored samples in the full default split
    metrics: ClassVar[tuple[str, ...]] = ("acc",)
    default_few_shot: ClassVar[int] = 0
    categories: ClassVar[dict[str, str]] = {}  # subset -> category (e.g. MMLU STEM / humanities ...)

    # ---- data: subclasses implement these -------------------------------------------------------------------------
    def read_local(self, data_dir: Path) -> Iterable[Sample]:
        raise NotImplementedError

    def read_hub(self) -> Iterable[Sample]:
        raise NotImplementedError

    def read_fewshot_local(self, data_dir: Path) -> Iterable[Sample]:
        return []

    def read_fewshot_hub(self) -> Iterable[Sample]:
        return []

    # ---- prompts and scoring -----------------------------------------------------------------------------------
    def default_mode(self, chat: bool) -> str:
        return "generate"

    def request(self, sample: Sample, mode: str, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        raise NotImplementedError

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        raise NotImplementedError

    # ---- shared machinery ----------------------------------------------------------------------------------------
    def load(self, spec: BenchmarkSpec) -> list[Sample]:
        """The samples to score: the chosen subsets, the first ``limit`` of each in file order."""
        rows = self._read(spec, fewshot=False)
        if spec.subsets:
            known = {s.subset for s in rows}
            unknown = [s for s in spec.subsets if s not in known]
            if unknown:
                from evalray.errors import did_you_mean

                raise ConfigError(
                    f"benchmark {self.name}: unknown subset '{unknown[0]}'{did_you_mean(unknown[0], sorted(map(str, known)))}"
                )
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

    def fewshot_pool(self, spec: BenchmarkSpec) -> dict[str | None, list[Sample]]:
        pool: dict[str | None, list[Sample]] = {}
        if self.few_shot(spec) == 0:
            return pool
        for sample in self._read(spec, fewshot=True):
            pool.setdefault(sample.subset, []).append(sample)
        if not pool:
            raise ConfigError(f"benchmark {self.name}: few_shot > 0 but no few-shot split was found")
        return pool

    def few_shot(self, spec: BenchmarkSpec) -> int:
        return self.default_few_shot if spec.few_shot is None else spec.few_shot

    def shots_for(self, sample: Sample, pool: dict[str | None, list[Sample]], k: int, seed: int) -> list[Sample]:
        """The first k examples of the sample's subset (a fixed dev split, as MMLU's 5-shot), skipping the sample."""
        candidates = [s for s in pool.get(sample.subset, pool.get(None, []))
                      if not (s.uid == sample.uid and s.input == sample.input)]  # never the sample itself
        if self.shuffle_fewshot:
            candidates = list(candidates)
            random.Random(f"{seed}:{sample.uid}").shuffle(candidates)
        return candidates[:k]

    shuffle_fewshot: ClassVar[bool] = False

    def requests(self, spec: BenchmarkSpec, chat: bool, seed: int, force_generate: bool = False) -> Iterator[tuple[Sample, Request, str]]:
        """(sample, request, mode) for every sample of the job entry."""
        mode = "generate" if force_generate else (spec.mode or self.default_mode(chat))
        samples = self.load(spec)
        pool = self.fewshot_pool(spec)
        k = self.few_shot(spec)
        for sample in samples:
            shots = self.shots_for(sample, pool, k, seed) if k else []
            yield sample, self.request(sample, mode, chat, shots, spec), mode

    def _read(self, spec: BenchmarkSpec, fewshot: bool) -> list[Sample]:
        if spec.data_dir:
            data_dir = resolve_data_dir(spec.data_dir)
            if not data_dir.is_dir():
                raise ConfigError(f"benchmark {self.name}: data_dir {spec.data_dir} is not a directory")
            reader = self.read_fewshot_local if fewshot else self.read_local
            try:
                return list(reader(data_dir))
            except FileNotFoundError as exc:
                raise ConfigError(f"benchmark {self.name}: {exc.filename or exc} not found under data_dir {spec.data_dir}") from None
        try:
            return list(self.read_fewshot_hub() if fewshot else self.read_hub())
        except ConfigError:
            raise
        except Exception as exc:  # offline, missing dataset, hub error
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"benchmark {self.name}: could not load {self.hub.describe()} from the hub ({first}); "
                f"set data_dir to a local copy"
            ) from None

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "items": self.items,
            "metrics": list(self.metrics),
            "source": self.hub.describe(),
            "license": self.license,
            "few_shot": self.default_few_shot,
            **({"subsets": sorted(self.categories), "categories": sorted(set(self.categories.values()))}
               if self.categories else {}),
        }


def resolve_data_dir(data_dir: str) -> Path:
    """A data_dir path; ``builtin:NAME`` is a sample shipped in the package (``evalray/data/NAME``)."""
    if data_dir.startswith("builtin:"):
        from importlib import resources

        return Path(str(resources.files("evalray") / "data" / data_dir[len("builtin:"):]))
    return Path(data_dir).expanduser()


def hub_rows(source: HubSource, split: str | None = None) -> list[dict[str, Any]]:
    """Rows of a hub dataset split (needs network or a populated HF cache)."""
    from datasets import load_dataset

    dataset = load_dataset(source.path, source.config, split=split or source.split)
    return [dict(row) for row in dataset]


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
        max_tokens = spec.max_tokens or 512
        if chat:
            return Request(kind="generate", messages=({"role": "user", "content": text},), max_tokens=max_tokens, repeats=spec.repeats)
        return Request(kind="generate", prompt=text + "\n\nANSWER:", max_tokens=spec.max_tokens or 8, stop=("\n",), repeats=spec.repeats)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        gold = self.gold(sample)
        if mode == "loglikelihood":
            lengths = [len(c) for c in self.continuations(sample)]
            return metrics.multiple_choice_scores(generation.loglikelihoods, lengths, gold, self.metrics)
        letter = extract.choice_letter(generation.text, len(sample.choices))
        return Score(values={"acc": float(letter == LETTERS[gold])}, extracted=letter)
