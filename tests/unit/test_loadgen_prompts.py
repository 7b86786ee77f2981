"""Prompt sources of a perf job: random prompts of exact length, one-prompt-per-line and ShareGPT files (a benchmark
from the real data: tests/data/test_loadgen_prompts.py)."""

from __future__ import annotations

import json

from evalray.job.perf_spec import PromptSpec
from evalray.loadgen.prompts import load_prompts


def test_random_prompts_have_the_exact_length_and_follow_the_seed():
    random_prompts = load_prompts(PromptSpec(input_tokens=20, random_prompts=5), 100)
    assert len(random_prompts) == 5 and all(len(p.text.split()) == 20 == p.prompt_tokens for p in random_prompts)
    spread = PromptSpec(input_tokens=20, input_tokens_range=0.5, random_prompts=20)
    assert [p.text for p in load_prompts(spread, 100, seed=1)] == [p.text for p in load_prompts(spread, 100, seed=1)]
    assert [p.text for p in load_prompts(spread, 100, seed=1)] != [p.text for p in load_prompts(spread, 100, seed=2)]


def test_prompt_files(tmp_path):
    lines = tmp_path / "prompts.txt"
    lines.write_text("first prompt\n\nsecond one here\n")
    assert [p.prompt_tokens for p in load_prompts(PromptSpec(dataset=str(lines)), 10)] == [2, 3]
    sharegpt = tmp_path / "sharegpt.json"
    sharegpt.write_text(json.dumps([{"conversations": [{"from": "human", "value": "hi there"},
                                                       {"from": "gpt", "value": "hello"}]}]))
    assert [p.text for p in load_prompts(PromptSpec(dataset=str(sharegpt)), 10)] == ["hi there"]
