"""The mock server's /metrics: running requests and vLLM-like prefix-cache block accounting (in process)."""

from __future__ import annotations

from evalray.loadgen.scrape import DEFAULT_METRICS, parse_metrics
from evalray.testing.mockserver_metrics import BLOCK_TOKENS, MockMetrics


def _prompt(words: list[str]) -> dict:
    return {"prompt": " ".join(words)}


def test_prefix_hits_count_the_leading_full_blocks_already_seen():
    metrics = MockMetrics("m")
    metrics.started(_prompt(["x"] * 32))  # before the first scrape: not looked up
    assert metrics.queries == 0 and metrics.running == 1
    metrics.render()
    shared = [f"p{i}" for i in range(40)]  # two full blocks of 16, then 8 words
    metrics.started(_prompt(shared + ["a"] * 10))
    assert metrics.hits == 0 and metrics.queries == 50
    metrics.started(_prompt(shared + ["b"] * 10))
    assert metrics.hits == 2 * BLOCK_TOKENS  # the third block differs (p32..p39 + b...)
    metrics.started(_prompt([f"u{i}" for i in range(50)]))
    assert metrics.hits == 2 * BLOCK_TOKENS and metrics.queries == 150
    assert metrics.running == 4


def test_chat_messages_and_the_rendered_page_parse_back():
    metrics = MockMetrics("m", kv_slots=4)
    metrics.render()
    request = {"messages": [{"role": "user", "content": " ".join(["w"] * 31)}]}  # <user> + 31 words: 2 blocks
    metrics.started(request)
    metrics.started(request)
    metrics.finished(True, 31, 5)
    values = parse_metrics(metrics.render().decode(), DEFAULT_METRICS + ("vllm:generation_tokens",))
    assert values["vllm:num_requests_running"] == 1 and values["vllm:kv_cache_usage_perc"] == 0.25
    assert values["vllm:prefix_cache_hits"] == 32 and values["vllm:prefix_cache_queries"] == 64
    assert values["vllm:request_success"] == 1 and values["vllm:generation_tokens"] == 5
    assert values["vllm:num_requests_waiting"] == 0
    metrics.finished(False, 31, 5)  # a cut answer is no success
    assert metrics.running == 0 and metrics.success == 1
