"""IFEval scoring through lm-evaluation-harness's checkers: strict vs loose, prompt vs instruction level."""

from __future__ import annotations

import pytest

pytest.importorskip("lm_eval.tasks.ifeval.instructions_registry")

from evalray.benchmarks import registry  # noqa: E402
from evalray.types import Generation, Sample  # noqa: E402


def _sample(ids, kwargs, prompt="Write something."):
    return Sample(id="7", benchmark="ifeval", subset=None, input=prompt, target="",
                  metadata={"instruction_id_list": ids, "kwargs": kwargs})


def _score(sample, text):
    return registry.get("ifeval").score(sample, Generation(texts=[text]), "generate").values


def test_all_followed_and_none_followed():
    s = _sample(["punctuation:no_comma", "change_case:english_lowercase"], [{}, {}])
    assert _score(s, "all lower case and no commas here") == {
        "prompt_level_strict_acc": 1.0, "inst_level_strict_acc": [1.0, 1.0], "prompt_level_loose_acc": 1.0,
        "inst_level_loose_acc": [1.0, 1.0]}
    partly = _score(s, "Upper Case, with a comma")
    assert partly["prompt_level_strict_acc"] == 0.0 and partly["inst_level_strict_acc"] == [0.0, 0.0]
    half = _score(s, "lower case, but a comma")
    assert half["prompt_level_strict_acc"] == 0.0 and sorted(half["inst_level_strict_acc"]) == [0.0, 1.0]


def test_loose_forgives_a_preamble_line_and_asterisks():
    s = _sample(["startend:quotation"], [{}])
    values = _score(s, 'Sure, here it is:\n"wrapped in double quotes"')
    assert values["prompt_level_strict_acc"] == 0.0 and values["prompt_level_loose_acc"] == 1.0


def test_word_and_sentence_counts_work_offline():
    s = _sample(["length_constraints:number_words", "length_constraints:number_sentences"],
                [{"relation": "at least", "num_words": 20}, {"relation": "less than", "num_sentences": 3}])
    assert _score(s, "word " * 25 + ". Second sentence here.")["prompt_level_strict_acc"] == 1.0
    assert _score(s, "Too short. Two. Three. Four.")["inst_level_strict_acc"] == [0.0, 0.0]


def test_capital_word_frequency_and_language():
    s = _sample(["change_case:capital_word_frequency"], [{"capital_relation": "at least", "capital_frequency": 2}])
    assert _score(s, "This is VERY IMPORTANT news.")["prompt_level_strict_acc"] == 1.0
    lang = _sample(["language:response_language"], [{"language": "de"}])
    assert _score(lang, "Das ist ein kurzer Satz auf Deutsch, und er ist ganz einfach zu verstehen.")["prompt_level_strict_acc"] == 1.0


def test_real_data_loads_541(tmp_path):
    from pathlib import Path

    from evalray.job.spec import BenchmarkSpec

    data = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ifeval"
    if not data.is_dir():
        pytest.skip(f"real data {data} absent")
    samples = registry.get("ifeval").load(BenchmarkSpec(name="ifeval", data_dir=str(data)))
    assert len(samples) == 541 and len({s.id for s in samples}) == 541
    assert all(_score(s, "")["prompt_level_strict_acc"] == 0.0 for s in samples[:50])
