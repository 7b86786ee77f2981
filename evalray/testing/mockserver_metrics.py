"""``GET /metrics`` of ``evalray mock-server``: vLLM-named Prometheus gauges and counters derived from what the mock
really does, so tests can check scraped values against it.

* ``vllm:num_requests_running``: completion requests being answered now (from accepted to the last byte, a cut
  connection or a truncated stream); ``vllm:num_requests_waiting`` is always 0 (the mock has no scheduler queue).
* ``vllm:kv_cache_usage_perc`` (and the older ``vllm:gpu_cache_usage_perc``): ``min(1, running / kv_slots)``.
* ``vllm:prefix_cache_queries_total`` / ``vllm:prefix_cache_hits_total``: the prompt's tokens (whitespace words, as
  the mock's ``usage`` counts them; a chat request is its messages' words in order, each after a ``<role>`` marker)
  in full blocks of ``BLOCK_TOKENS``, chained by hash like vLLM's block cache; hits are the tokens of the leading
  blocks already seen (an LRU of ``MAX_BLOCKS`` blocks). Unique prompts hit 0; prompts sharing a prefix hit
  ``floor(P / 16) * 16`` tokens each after the first. This accounting starts with the first ``GET /metrics`` (a
  scraper's first scrape comes before its first request), so a server nobody scrapes pays nothing for it.
* ``vllm:request_success_total``: requests answered completely; ``vllm:prompt_tokens_total`` and
  ``vllm:generation_tokens_total``: their tokens.

With ``--processes N`` each process counts its own requests (a scrape reaches one of them).
"""

from __future__ import annotations

import collections
from typing import Any

BLOCK_TOKENS = 16
MAX_BLOCKS = 200_000


def prompt_words(request: dict[str, Any]) -> list[str]:
    if "messages" in request:
        words: list[str] = []
        for message in request["messages"]:
            words.append(f"<{message.get('role', 'user')}>")
            words.extend(str(message.get("content", "")).split())
        return words
    prompt = request.get("prompt", "")
    return prompt.split() if isinstance(prompt, str) else [str(t) for t in prompt]


class MockMetrics:
    """The counters and gauges of one mock-server process."""

    def __init__(self, model: str, kv_slots: int = 256) -> None:
        self.model = model
        self.kv_slots = max(1, kv_slots)
        self.running = 0
        self.success = 0
        self.prompt_tokens = 0
        self.generation_tokens = 0
        self.queries = 0
        self.hits = 0
        self.blocks: collections.OrderedDict[int, None] = collections.OrderedDict()
        self.scraped = False  # prefix-cache accounting runs from the first render()

    def started(self, request: dict[str, Any]) -> None:
        """A completion request begins being answered: running + 1, prefix-cache lookup and insert."""
        self.running += 1
        if not self.scraped:
            return
        words = prompt_words(request)
        full = len(words) // BLOCK_TOKENS
        self.queries += len(words)
        chain, hitting = 0, True
        for index in range(full):
            chain = hash((chain, tuple(words[index * BLOCK_TOKENS:(index + 1) * BLOCK_TOKENS])))
            if hitting and chain in self.blocks:
                self.hits += BLOCK_TOKENS
                self.blocks.move_to_end(chain)
                continue
            hitting = False
            self.blocks[chain] = None
            if len(self.blocks) > MAX_BLOCKS:
                self.blocks.popitem(last=False)

    def finished(self, ok: bool, prompt_tokens: int, completion_tokens: int) -> None:
        self.running = max(0, self.running - 1)
        if ok:
            self.success += 1
            self.prompt_tokens += prompt_tokens
            self.generation_tokens += completion_tokens

    def render(self) -> bytes:
        self.scraped = True
        labels = f'{{engine="0",model_name="{self.model}"}}'
        usage = min(1.0, self.running / self.kv_slots)
        rows = (("vllm:num_requests_running", "gauge", "Requests being answered.", self.running),
                ("vllm:num_requests_waiting", "gauge", "Requests waiting (the mock never queues).", 0),
                ("vllm:kv_cache_usage_perc", "gauge", "Fake KV-cache usage: running / kv_slots.", usage),
                ("vllm:gpu_cache_usage_perc", "gauge", "The same, by vLLM's older name.", usage),
                ("vllm:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.",
                 self.queries),
                ("vllm:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", self.hits),
                ("vllm:request_success_total", "counter", "Requests answered completely.", self.success),
                ("vllm:prompt_tokens_total", "counter", "Prompt tokens of answered requests.", self.prompt_tokens),
                ("vllm:generation_tokens_total", "counter", "Tokens generated for answered requests.",
                 self.generation_tokens))
        lines = []
        for name, kind, text, value in rows:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name}{labels} {float(value)!r}"]
        return ("\n".join(lines) + "\n").encode()
