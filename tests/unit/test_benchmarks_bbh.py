"""BBH: answers after "So the answer is", per answer kind (options, booleans, words, numbers, bracket sequences)."""

from __future__ import annotations

import pytest

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from evalray.scoring import extract
from evalray.types import Generation, Sample


def _score(target: str, text: str, task: str = "date_understanding") -> float:
    sample = Sample(id=f"{task}/0", benchmark="bbh", subset=task, input="Q", target=target)
    return registry.get("bbh").score(sample, Generation(texts=[text]), "generate").values["exact_match"]


@pytest.mark.parametrize("target,text", [
    ("(A)", "Step 1... So the answer is (A)."),
    ("(A)", "So the answer is A."),
    ("(C)", "so the answer is (C) 12/11/1937."),
    ("(B)", "So the answer is **(B)**."),
    ("True", "Evaluate inside out. So the answer is True."),
    ("False", "So the answer is false."),
    ("Yes", "So the answer is Yes."),
    ("valid", "So the answer is valid."),
    ("yes", "So the answer is yes."),
    ("24", "8 + 16 = 24. So the answer is 24."),
    ("-11520", "So the answer is -11520."),
    ("] ] ]", "So the answer is ] ] ]."),
    (") ] }", "So the answer is )]}."),
    ("apple banana cherry", "So the answer is apple banana cherry."),
    ("Monsters, Inc", "So the answer is Monsters, Inc."),
    ("(A)", "I first thought the answer is (B). Checking again... So the answer is (A)."),
])
def test_right_answers(target, text):
    assert _score(target, text) == 1.0


@pytest.mark.parametrize("target,text", [
    ("(A)", "So the answer is (B)."),
    ("(A)", "So the answer is AB."),
    ("True", "So the answer is False."),
    ("Yes", "So the answer is No."),
    ("valid", "So the answer is invalid."),
    ("24", "So the answer is 25."),
    ("] ] ]", "So the answer is ] ]."),
    ("apple banana cherry", "So the answer is banana apple cherry."),
    ("(A)", "The options are (A) and (B)."),  # no final answer
    ("True", ""),
])
def test_wrong_answers(target, text):
    assert _score(target, text) == 0.0


def test_extracted_answer_is_reported():
    assert extract.answer_after_phrase("So the answer is (D).") == "(D)"
    assert extract.answer_after_phrase("nothing here") is None


def test_prompt_uses_the_official_cot_examples(tmp_path):
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bbh"
    if not data.is_dir():
        pytest.skip(f"real data {data} absent")
    bench = registry.get("bbh")
    spec = BenchmarkSpec(name="bbh", data_dir=str(data), subsets=["navigate"], limit=1)
    sample, request, mode = next(bench.requests(spec, chat=False, seed=0))
    assert request.prompt.startswith("Given a series of navigation instructions")
    assert request.prompt.count("\n\nQ: ") == 4 and request.prompt.count("So the answer is") == 3  # 3 shots + question
    assert request.prompt.endswith(f"Q: {sample.input}\nA: Let's think step by step.")
    zero = next(bench.requests(spec.model_copy(update={"few_shot": 0}), chat=False, seed=0))[1]
    assert zero.prompt == f"Q: {sample.input}\nA: Let's think step by step."
    one = next(bench.requests(spec.model_copy(update={"few_shot": 1}), chat=False, seed=0))[1]
    assert one.prompt.count("So the answer is") == 1
    chat = next(bench.requests(spec, chat=True, seed=0))[1]
    assert "So the answer is X." in chat.messages[-1]["content"]


# ---- the shipped CoT prompts: hub-loaded BBH is 3-shot CoT too ---------------------------------------------------------
def _fake_bbh_hub(monkeypatch, rows_for):
    from evalray.benchmarks import _source
    from evalray.benchmarks.base import clear_cache

    calls = []

    def hub_rows(path, config, split):
        calls.append((path, config, split))
        assert path == "lukaemon/bbh" and split == "test"
        return rows_for(config)

    monkeypatch.setattr(_source, "hub_rows", hub_rows)
    clear_cache()
    return calls


def test_hub_bbh_without_data_dir_uses_the_shipped_cot_prompts(monkeypatch):
    from evalray.benchmarks.bbh import TASKS, shipped_prompts

    assert sorted(p.stem for p in shipped_prompts().glob("*.txt")) == sorted(TASKS)
    assert (shipped_prompts().parent / "LICENSE").read_text().startswith("MIT License")
    calls = _fake_bbh_hub(monkeypatch, lambda task: [{"input": f"{task} question", "target": "(A)"}])
    bench = registry.get("bbh")
    items = list(bench.requests(BenchmarkSpec(name="bbh"), chat=False, seed=0))
    assert len(calls) == 27 and [s.id for s, _, _ in items] == [f"{t}/0" for t in TASKS]
    navigate = next(r for s, r, _ in items if s.subset == "navigate")
    assert navigate.prompt.startswith("Given a series of navigation instructions")
    assert navigate.prompt.count("\n\nQ: ") == 4 and navigate.prompt.count("So the answer is") == 3
    assert navigate.prompt.endswith("Q: navigate question\nA: Let's think step by step.")
    # only the chosen subsets are fetched from the hub
    calls.clear()
    list(bench.requests(BenchmarkSpec(name="bbh", subsets=["snarks"]), chat=False, seed=0))
    assert calls == [("lukaemon/bbh", "snarks", "test")]


def test_hub_bbh_prompts_equal_the_data_dir_prompts(monkeypatch):
    import json
    from pathlib import Path

    from evalray.benchmarks.bbh import shipped_prompts

    data = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bbh"
    if not data.is_dir():
        pytest.skip(f"real data {data} absent")
    for path in sorted((data / "cot-prompts").glob("*.txt")):  # the shipped copies are the official files, unmodified
        assert (shipped_prompts() / path.name).read_bytes() == path.read_bytes(), path.name
    raw = {p.stem: json.loads(p.read_text(encoding="utf-8"))["examples"] for p in (data / "bbh").glob("*.json")}
    _fake_bbh_hub(monkeypatch, lambda task: [dict(e) for e in raw[task]])
    bench = registry.get("bbh")
    for chat in (False, True):
        hub = [(s.id, r.prompt, r.messages) for s, r, _ in bench.requests(BenchmarkSpec(name="bbh"), chat=chat, seed=0)]
        local = [(s.id, r.prompt, r.messages)
                 for s, r, _ in bench.requests(BenchmarkSpec(name="bbh", data_dir=str(data)), chat=chat, seed=0)]
        assert len(hub) == 6511 and hub == local
        texts = [prompt or messages[-1]["content"] for _, prompt, messages in hub]
        assert all(text.count("So the answer is") >= 3 for text in texts)
