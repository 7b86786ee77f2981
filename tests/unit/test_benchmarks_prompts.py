"""Prompts and few-shot examples of the benchmarks on the real data, and the code-answer shapes of HumanEval/MBPP."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent")


def _first(name: str, folder: str, chat: bool = False, **spec):
    bench = registry.get(name)
    sample, request, mode = next(bench.requests(BenchmarkSpec(name=name, data_dir=str(DATA / folder), limit=1, **spec), chat=chat, seed=0))
    return bench, sample, request, mode


def test_exam_suites_few_shot_from_dev_with_subject_header():
    _, sample, request, mode = _first("cmmlu", "cmmlu", few_shot=5, subsets=["agronomy"])
    assert mode == "loglikelihood"
    assert request.prompt.startswith("以下是关于农学的单项选择题，请直接给出正确答案的选项。\n\n")
    assert request.prompt.count("答案：") == 6 and request.prompt.endswith("\n答案：")
    assert "肉牛屠宰后，胴体的哪个部位肉质较好" in request.prompt  # the first dev question
    _, _, request, _ = _first("ceval", "ceval", few_shot=5, subsets=["accountant"])
    assert request.prompt.startswith("以下是中国关于注册会计师的单项选择题，请选出其中的正确答案。\n\n")
    assert request.prompt.count("答案：") == 6 and request.continuations == (" A", " B", " C", " D")


def test_arc_few_shot_from_dev_and_chat_prompt():
    _, sample, request, _ = _first("arc_easy", "arc", few_shot=3)
    assert request.prompt.count("Question: ") == 4 and request.prompt.endswith(f"Question: {sample.input}\nAnswer:")
    _, sample, chat, mode = _first("arc_easy", "arc", chat=True)
    assert mode == "generate" and "ANSWER: $LETTER" in chat.messages[0]["content"] and "A) " in chat.messages[0]["content"]


def test_boolq_generative_prompt_has_the_passage():
    _, sample, request, _ = _first("boolq", "boolq", chat=True)
    assert sample.metadata["passage"][:40] in request.messages[0]["content"]


def test_mbpp_three_shot_prompt_uses_tasks_2_to_4():
    bench, sample, request, _ = _first("mbpp", "mbpp")
    assert sample.id == "11"
    assert request.prompt.count("[BEGIN]") == 4 and request.prompt.count("[DONE]") == 3
    assert "def similar_elements" in request.prompt and "def is_not_prime" in request.prompt and "heap_queue_largest" in request.prompt
    assert request.prompt.endswith("[BEGIN]\n") and request.stop == ("[DONE]",)


def test_humaneval_answer_shapes():
    bench, sample, request, _ = _first("humaneval", "humaneval")
    completion = sample.target
    full = sample.input + completion
    fenced = f"Here you go:\n```python\n{full}\n```\nDone."
    assert bench.score(sample, Generation(texts=[completion]), "generate").values["pass@1"] == 1.0
    assert bench.score(sample, Generation(texts=[fenced]), "generate").values["pass@1"] == 1.0
    assert bench.score(sample, Generation(texts=[full.split("def ", 1)[0] and "def " + full.split("def ", 1)[1]]), "generate").values["pass@1"] == 1.0
    values = bench.score(sample, Generation(texts=[completion, "    return True\n", completion, "    return False\n"]), "generate").values
    assert values["pass@1"] == 0.5 and values["pass@4"] == 1.0


def test_math_prompts():
    _, sample, request, _ = _first("math500", "math")
    assert request.prompt == f"Problem:\n{sample.input}\n\nSolution:" and sample.id == "test/precalculus/807.json"  # the dataset's own unique_id, verbatim
    _, _, chat, _ = _first("math", "math", chat=True)
    assert "\\boxed{}" in chat.messages[0]["content"]
