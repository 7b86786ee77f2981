"""Oracle tests on the full real data (no Ray): every benchmark loads the MANIFEST count of samples, gold outputs
score exactly 1.0 and all-wrong outputs 0.0, scored through the benchmark's own generate-mode scorer (as a replay
model is)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from evalray.benchmarks.base import LETTERS
from evalray.types import Generation, Sample


DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

# benchmark -> (data folder, MANIFEST count)
COUNTS = {
    "gsm8k": ("gsm8k", 1319), "mmlu": ("mmlu", 14042), "cmmlu": ("cmmlu", 11582), "ceval": ("ceval", 1346),
    "math": ("math", 5000), "math500": ("math", 500), "arc_easy": ("arc", 2376), "arc_challenge": ("arc", 1172),
    "truthfulqa_mc1": ("truthfulqa", 817), "truthfulqa_mc2": ("truthfulqa", 817), "humaneval": ("humaneval", 164),
    "mbpp": ("mbpp", 500), "bbh": ("bbh", 6511), "winogrande": ("winogrande", 1267), "piqa": ("piqa", 1838),
    "boolq": ("boolq", 3270), "nq_open": ("nq_open", 3610), "triviaqa": ("triviaqa", 3000), "hellaswag": ("hellaswag", 4),
}
MC = {"mmlu", "cmmlu", "ceval", "arc_easy", "arc_challenge", "truthfulqa_mc1", "winogrande", "piqa", "boolq", "hellaswag"}


def gold_output(name: str, s: Sample) -> str:
    if name in MC:
        return f"The question asks for the best option.\nANSWER: {LETTERS[int(s.target)]}"
    if name == "truthfulqa_mc2":
        return f"ANSWER: {LETTERS[s.metadata['true'][0]]}"
    if name == "gsm8k":
        return f"{s.metadata['solution'].split('####')[0]}ANSWER: {s.target}"
    if name in ("math", "math500"):
        return f"Working through the algebra gives the result.\nThe final answer is $\\boxed{{{s.target}}}$."
    if name == "humaneval":
        return s.target  # the canonical completion
    if name == "mbpp":
        return f"{s.target}\n[DONE]"
    if name == "bbh":
        return f"Let's reason about it.\nSo the answer is {s.target}."
    if name in ("nq_open", "triviaqa"):
        return s.metadata["aliases"][-1]
    raise KeyError(name)


def wrong_output(name: str, s: Sample) -> str:
    if name in MC:
        return f"ANSWER: {LETTERS[(int(s.target) + 1) % len(s.choices)]}"
    if name == "truthfulqa_mc2":
        false = [i for i in range(len(s.choices)) if i not in s.metadata["true"]]
        return f"ANSWER: {LETTERS[false[0]]}"
    if name == "gsm8k":
        return f"ANSWER: {float(s.target) + 1:g}"
    if name in ("math", "math500"):
        return "The final answer is $\\boxed{\\text{no idea}}$."
    if name == "humaneval":
        return "    raise NotImplementedError\n"
    if name == "mbpp":
        return "def nothing():\n    return None\n[DONE]"
    if name == "bbh":
        if s.target.startswith("(") and len(s.target) == 3:
            return f"So the answer is ({'B' if s.target != '(B)' else 'A'})."
        return "So the answer is zzz-unknowable."
    if name in ("nq_open", "triviaqa"):
        return "zzz unknowable"
    raise KeyError(name)


pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"real data folder {DATA} is absent")
SLOW = {"humaneval", "mbpp"}  # sandboxed execution: scored on every item below, in their own tests


def _samples(name: str):
    folder, _ = COUNTS[name]
    bench = registry.get(name)
    return bench, list(bench.requests(BenchmarkSpec(name=name, data_dir=str(DATA / folder)), chat=True, seed=0, force_generate=True))


@pytest.mark.parametrize("name", sorted(set(COUNTS) - SLOW))
def test_gold_scores_one_and_wrong_scores_zero(name):
    bench, items = _samples(name)
    assert len(items) == COUNTS[name][1]
    assert len({s.id for s, _, _ in items}) == len(items)
    for sample, request, mode in items:
        assert mode == "generate" and request.kind == "generate"
        gold = bench.score(sample, Generation(texts=[gold_output(name, sample)]), mode)
        assert all(v == 1.0 for v in gold.values.values()), (sample.id, gold)
        wrong = bench.score(sample, Generation(texts=[wrong_output(name, sample)]), mode)
        assert all(v == 0.0 for v in wrong.values.values()), (sample.id, wrong)


@pytest.mark.parametrize("name", sorted(SLOW))
def test_code_benchmarks_gold_pass_and_wrong_fail(name):
    bench, items = _samples(name)
    assert len(items) == COUNTS[name][1]
    gold = [bench.score(s, Generation(texts=[gold_output(name, s)]), m).values["pass@1"] for s, _, m in items]
    assert sum(gold) == len(items), [s.id for (s, _, _), g in zip(items, gold) if g != 1.0]
    wrong = [bench.score(s, Generation(texts=[wrong_output(name, s)]), m).values["pass@1"] for s, _, m in items[:20]]
    assert sum(wrong) == 0


def test_humaneval_bare_prompts_fail():
    bench, items = _samples("humaneval")
    scores = [bench.score(s, Generation(texts=[""]), m).values["pass@1"] for s, _, m in items]
    assert sum(scores) == 0 and len(scores) == 164


def test_mmlu_categories_cover_every_subject():
    bench, items = _samples("mmlu")
    assert {s.subset for s, _, _ in items} <= set(bench.categories)
    assert set(bench.categories.values()) == {"stem", "humanities", "social_sciences", "other"}


@pytest.mark.parametrize("name,count", [("cmmlu", 67), ("ceval", 52), ("bbh", 27)])
def test_subset_counts_and_categories(name, count):
    bench, items = _samples(name)
    subsets = {s.subset for s, _, _ in items}
    assert len(subsets) == count
    assert set(bench.info()["subsets"]) == subsets
    if bench.categories:
        assert subsets <= set(bench.categories)
