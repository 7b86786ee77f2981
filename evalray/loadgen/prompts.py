"""Prompt sources for ``evalray perf``: a fixed prompt, random prompts of exact token length, any evalray benchmark,
a ShareGPT-format JSON file or a file with one prompt per line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evalray.errors import ConfigError
from evalray.job.perf_spec import PromptSpec
from evalray.loadgen.tokens import Tokenizer, load_tokenizer, random_prompt


@dataclass(frozen=True)
class Prompt:
    text: str
    prompt_tokens: int
    max_tokens: int
    messages: tuple[dict[str, str], ...] = ()  # chat messages (a benchmark's, with few-shot turns); else one user turn
    stop: tuple[str, ...] = ()


def _lengths(mean: int, spread: float, count: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform lengths in ``[mean*(1-spread), mean*(1+spread)]`` (all equal to ``mean`` when spread is 0)."""
    if spread <= 0:
        return np.full(count, mean, dtype=np.int64)
    low, high = max(1, int(mean * (1 - spread))), max(1, int(mean * (1 + spread)))
    return rng.integers(low, high + 1, size=count)


def _texts_from_benchmark(spec: PromptSpec) -> list[str]:
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    bench = BenchmarkSpec(name=str(spec.dataset), data_dir=spec.data_dir, limit=spec.limit)
    return [sample.input for sample in registry.get(bench.name).load(bench)]


def _texts_from_file(path: Path, limit: int | None) -> list[str]:
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        texts = []
        for item in data if isinstance(data, list) else []:
            turns = item.get("conversations") or item.get("conversation") or []
            first = next((t for t in turns if t.get("from") in ("human", "user")), None)
            if first and str(first.get("value", "")).strip():
                texts.append(str(first["value"]))
        if not texts:
            raise ConfigError(f"{path}: no ShareGPT conversations (a list of {{'conversations': [{{'from': 'human', ...}}]}})")
    else:
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts[:limit] if limit else texts


def _is_benchmark(name: str) -> bool:
    from evalray.benchmarks import registry

    return name in registry.names()


def load_prompts(spec: PromptSpec, count_hint: int, seed: int = 0) -> list[Prompt]:
    """The prompts of a run (at most ``count_hint`` random ones; requests cycle through the list); ``seed`` (the
    job's) draws random prompts and lengths."""
    rng = np.random.default_rng(seed)
    tokenizer = load_tokenizer(spec.tokenizer)
    if spec.prompt is not None:
        texts = [spec.prompt]
    elif spec.dataset in (None, "random"):
        count = max(1, min(count_hint, spec.random_prompts))
        lengths = _lengths(spec.input_tokens, spec.input_tokens_range, count, rng)
        texts = [random_prompt(tokenizer, int(n), rng) for n in lengths]
        max_tokens = _lengths(spec.max_tokens, spec.max_tokens_range, count, rng)
        return [Prompt(t, int(n), int(m)) for t, n, m in zip(texts, lengths, max_tokens)]
    elif Path(spec.dataset).is_file():
        texts = _texts_from_file(Path(spec.dataset), spec.limit)
    elif _is_benchmark(spec.dataset):
        texts = _texts_from_benchmark(spec)
    else:
        raise ConfigError(f"--dataset {spec.dataset}: neither a file nor a benchmark name (or 'random')")
    if not texts:
        raise ConfigError(f"prompts: the source {spec.dataset or 'prompt'} gave no prompts")
    max_tokens = _lengths(spec.max_tokens, spec.max_tokens_range, len(texts), rng)
    return [Prompt(t, _count(tokenizer, t), int(m)) for t, m in zip(texts, max_tokens)]


def _count(tokenizer: Tokenizer, text: str) -> int:
    return len(tokenizer.encode(text))
