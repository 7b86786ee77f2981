"""Perf prompts from a benchmark in the real data: the questions of ../shared/data/gsm8k, in file order."""

from __future__ import annotations

import json

from evalray.job.perf_spec import PromptSpec
from evalray.loadgen.prompts import load_prompts
from tests.conftest import shared_data


def test_gsm8k_questions_are_the_prompts():
    data = shared_data("gsm8k")
    with open(data / "test.jsonl", encoding="utf-8") as f:
        questions = [json.loads(line)["question"] for line, _ in zip(f, range(5))]
    prompts = load_prompts(PromptSpec(dataset="gsm8k", data_dir=str(data), limit=5), 10)
    assert len(prompts) == 5
    for prompt, question in zip(prompts, questions):
        assert question in prompt.text  # the benchmark's prompt template wraps the question
