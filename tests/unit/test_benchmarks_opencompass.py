"""The OpenCompass-list benchmarks on hub-layout rows (load_dataset stubbed) and the hub-only ones on files written
here: the hub layouts parse to the same samples as the bundle's, ReCoRD's pairs are lm-eval's own, xsum/summedits
score, a missing FewCLUE hub copy is one clear line."""

from __future__ import annotations

import json

import pytest

from evalray.benchmarks import registry
from evalray.benchmarks.base import clear_cache
from evalray.errors import ConfigError
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

HUB = {
    ("allenai/openbookqa", "main", "test"): [
        {"id": "7-980", "question_stem": "The sun is responsible for", "answerKey": "D",
         "choices": {"text": ["puppies learning new tricks", "children growing up", "flowers wilting", "plants sprouting"],
                     "label": ["A", "B", "C", "D"]}}],
    ("aps/super_glue", "rte", "validation"): [{"premise": "P.", "hypothesis": "H.", "label": 1, "idx": 0}],
    ("aps/super_glue", "wsc.fixed", "validation"): [
        {"text": "Mark told Pete many lies about himself , which Pete included in his book .", "span1_index": 0,
         "span2_index": 13, "span1_text": "Mark", "span2_text": "He", "label": 0, "idx": 0}],
    ("clue/clue", "cmnli", "validation"): [{"sentence1": "a", "sentence2": "b", "label": 2, "idx": 0},
                                          {"sentence1": "c", "sentence2": "d", "label": -1, "idx": 1}],
    ("aps/super_glue", "record", "validation"): [
        {"passage": "Tom met Ann in Paris.\n@highlight\nThey talked", "query": "@placeholder was happy",
         "entities": ["Tom", "Ann", "Paris"], "answers": ["Ann"], "idx": {"passage": 0, "query": 0}}],
}


@pytest.fixture
def fake_hub(monkeypatch):
    def load_dataset(path, config=None, split=None):
        if (path, config, split) not in HUB:
            raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub")
        return HUB[(path, config, split)]

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    clear_cache()
    yield
    clear_cache()


def load(name: str, **spec):
    return registry.get(name).load(BenchmarkSpec(name=name, **spec))


def test_hub_layouts_parse_like_the_bundle(fake_hub):
    (obqa,) = load("obqa")
    assert obqa.id == "7-980" and obqa.target == "3" and obqa.metadata["prompt"].endswith("D. plants sprouting\nAnswer:")
    (rte,) = load("rte")
    assert rte.target == "1" and rte.input == "P.\nQuestion: H. True or False?\nAnswer:"
    (wsc,) = load("wsc")  # the hub's flat span fields
    assert wsc.target == "0" and '"*He*"' in wsc.input and "# He #" in wsc.metadata["prompt"]
    cmnli = load("cmnli")  # the hub's ints (neutral, entailment, contradiction); -1 (no label) is left out
    assert [s.target for s in cmnli] == ["1"] and [s.id for s in cmnli] == ["0"]


def test_record_pairs_are_lm_evals(fake_hub):
    util = pytest.importorskip("lm_eval.tasks.super_glue.record.util")
    (sample,) = load("record")
    bench = registry.get("record")
    request = bench.finish(bench.request(sample, "loglikelihood", False, [], BenchmarkSpec(name="record")), sample,
                           BenchmarkSpec(name="record"))
    doc = {**HUB[("aps/super_glue", "record", "validation")][0]}
    doc.update(entities=sorted(set(doc["entities"])), answers=sorted(set(doc["answers"])))
    assert request.prompt == util.doc_to_text(doc)
    assert request.continuations == tuple(" " + c for c in util.doc_to_choice(doc))
    assert sample.choices[int(sample.target)] == util.doc_to_target(doc)


def test_a_benchmark_without_a_hub_copy_says_set_data_dir(fake_hub):
    with pytest.raises(ConfigError, match=r"benchmark bustm: could not load FewCLUE/bustm .*set data_dir"):
        load("bustm")


def test_hub_only_benchmarks_read_the_bundle_layout(tmp_path):
    (tmp_path / "Xsum").mkdir()
    (tmp_path / "Xsum" / "dev.jsonl").write_text(json.dumps(
        {"id": "3", "document": "The cat sat on the mat all day.", "summary": "A cat sat on a mat."}) + "\n")
    (tmp_path / "summedits").mkdir()
    (tmp_path / "summedits" / "summedits.jsonl").write_text("".join(json.dumps(
        {"doc": "D.", "summary": f"S{i}.", "label": i % 2}) + "\n" for i in range(2)))
    clear_cache()
    xsum = registry.get("xsum")
    (sample,) = xsum.load(BenchmarkSpec(name="xsum", data_dir=str(tmp_path)))
    assert sample.id == "3"
    assert xsum.score(sample, Generation(texts=["A cat sat on a mat.\nMore"]), "generate").values == {
        "rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    assert xsum.score(sample, Generation(texts=["Dogs bark loudly"]), "generate").values["rouge1"] == 0.0
    summedits = registry.get("summedits")
    rows = summedits.load(BenchmarkSpec(name="summedits", data_dir=str(tmp_path)))
    assert [s.metadata["answer"] for s in rows] == [1, 0]  # label 1 = consistent = A. Yes
    assert summedits.score(rows[1], Generation(texts=["ANSWER: A"]), "generate").values == {"acc": 1.0}
    clear_cache()


@pytest.mark.parametrize("text,rule,letter", [
    ("ANSWER: C", "first_capital", "C"),  # evalray's marker first, whatever the config's postprocessor
    ("Reasoning about A and B.\nANSWER: B", "first_capital", "B"),
    ("The answer is (C).", "first_capital", "C"),
    ("答案是B", "first_option", "B"), ("答案：（D）", "first_capital", "D"), ("故选A。", "first_option", "A"),
    ("B. 矛盾", "first_capital", "B"),  # first_capital_postprocess: the first capital letter
    ("蕴含", "first_capital", None), ("Yes, it is.", "first_capital", None),  # 'Y' is no option letter
    ("(B) because", "first_option", "B"), ("E", "first_option", None),  # out of the 4 options
])
def test_option_letter(text, rule, letter):
    from evalray.benchmarks._opencompass import option_letter

    assert option_letter(text, 4, rule) == letter
