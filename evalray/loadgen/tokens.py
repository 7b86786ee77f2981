"""Tokenizers for prompt lengths and token counts: ``whitespace`` (one token per word; what the mock server counts),
``builtin:tiny-llama``, or any local Hugging Face tokenizer directory / cached hub id."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from evalray.errors import ConfigError

_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
          "romeo sierra tango uniform victor whiskey xray yankee zulu").split()


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...

    @property
    def vocab_size(self) -> int: ...


class WhitespaceTokenizer:
    """One token per whitespace-separated word over a small fixed vocabulary (unknown words map to id 0)."""

    vocab_size = len(_WORDS)

    def encode(self, text: str) -> list[int]:
        index = {w: i for i, w in enumerate(_WORDS)}
        return [index.get(word, 0) for word in text.split()]

    def decode(self, ids: list[int]) -> str:
        return " ".join(_WORDS[i % len(_WORDS)] for i in ids)


class HuggingFaceTokenizer:
    def __init__(self, name: str) -> None:
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - transformers is a dependency
            raise ConfigError(f"tokenizer {name}: transformers is not installed") from exc
        if name.startswith("builtin:"):
            from evalray.models.tiny import resolve_source

            name = resolve_source(name)
        try:
            self.inner = AutoTokenizer.from_pretrained(name)
        except Exception as exc:  # noqa: BLE001 - many loader errors; one line for the user
            raise ConfigError(f"tokenizer {name}: cannot load ({type(exc).__name__})") from None
        self.special = set(self.inner.all_special_ids)

    @property
    def vocab_size(self) -> int:
        return int(self.inner.vocab_size)

    def encode(self, text: str) -> list[int]:
        return list(self.inner.encode(text, add_special_tokens=False))

    def decode(self, ids: list[int]) -> str:
        return str(self.inner.decode(ids, skip_special_tokens=True))


def load_tokenizer(name: str | None) -> Tokenizer:
    if name in (None, "", "whitespace"):
        return WhitespaceTokenizer()
    return HuggingFaceTokenizer(str(name))


def random_prompt(tokenizer: Tokenizer, length: int, rng: np.random.Generator) -> str:
    """Text of random tokens that re-encodes to exactly ``length`` tokens (nearest found after a few tries)."""
    if isinstance(tokenizer, WhitespaceTokenizer):
        return tokenizer.decode(rng.integers(0, tokenizer.vocab_size, size=length).tolist())
    special = getattr(tokenizer, "special", set())
    vocab = [i for i in range(min(tokenizer.vocab_size, 50_000)) if i not in special]
    ids = rng.choice(vocab, size=length).tolist()
    best = tokenizer.decode(ids)
    for _ in range(8):
        encoded = tokenizer.encode(best)
        if len(encoded) == length:
            return best
        if len(encoded) > length:
            best = tokenizer.decode(encoded[:length])
        else:
            best = tokenizer.decode(encoded + rng.choice(vocab, size=length - len(encoded)).tolist())
    return best


_WORD_CACHE: dict[int, list[str]] = {}


def word_vocabulary(tokenizer: Tokenizer) -> list[str]:
    """Lower-case words that are one token both alone and after a space, so ``" ".join(words)`` is exactly one token
    per word (pre-tokenizers split at spaces) and a text of them can be cut or extended word by word."""
    if isinstance(tokenizer, WhitespaceTokenizer):
        return list(_WORDS)
    key = id(tokenizer)
    if key not in _WORD_CACHE:
        special = getattr(tokenizer, "special", set())
        seen: set[str] = set()
        for i in range(min(tokenizer.vocab_size, 50_000)):
            if i in special:
                continue
            word = tokenizer.decode([i]).strip()
            if len(word) < 2 or not word.isascii() or not word.isalpha() or not word.islower() or word in seen:
                continue
            if len(tokenizer.encode(word)) == 1 and len(tokenizer.encode(" " + word)) == 1:
                seen.add(word)
        _WORD_CACHE[key] = sorted(seen)
    return _WORD_CACHE[key]


def exact_text(tokenizer: Tokenizer, length: int, rng: np.random.Generator, prefix: str = "") -> str:
    """``prefix`` (when given, followed by a space) and random words: a text whose token count is exactly
    ``len(encode(prefix)) + length`` with the prefix's tokens first (checked; random tokens when the tokenizer has too
    few one-token words)."""
    words = word_vocabulary(tokenizer)
    if len(words) >= 16:
        tail = " ".join(words[i] for i in rng.integers(0, len(words), size=length))
        text = f"{prefix} {tail}" if prefix and tail else (prefix or tail)
        if isinstance(tokenizer, WhitespaceTokenizer):
            return text
        head = tokenizer.encode(prefix) if prefix else []
        encoded = tokenizer.encode(text)
        if len(encoded) == len(head) + length and encoded[: len(head)] == head:
            return text
    tail = random_prompt(tokenizer, length, rng)
    return f"{prefix} {tail}" if prefix else tail
