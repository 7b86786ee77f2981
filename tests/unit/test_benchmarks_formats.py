"""Hub-format fixtures (the layouts of the hub datasets, written here) load into the same samples and prompts as the
local files: HellaSwag with lm-evaluation-harness preprocessing, WinoGrande, ARC, PIQA, BoolQ, TruthfulQA."""

from __future__ import annotations

from evalray.benchmarks import registry
from evalray.benchmarks.hellaswag import preprocess
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

HELLASWAG_HUB_ROW = {
    "ind": 24, "activity_label": "Roof shingle removal",
    "ctx_a": "A man is sitting on a roof.", "ctx_b": "he",
    "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.",
                "is holding a rubik's cube.", "starts pulling up roofing on a roof."],
    "label": "3", "split": "val", "split_type": "indomain", "source_id": "activitynet~v_-JhWjGDPHMY",
}
WIKIHOW_ROW = {
    "ind": 4, "activity_label": "Home and Garden",
    "ctx_a": "[header] How to clean a grill [title] Heat the grill.", "ctx_b": "",
    "endings": ["[step] Scrub the grates [substeps] with a brush.", "Eat it.", "Sleep.", "Go home [title] now."],
    "label": "0",
}


def test_hellaswag_hub_rows_are_preprocessed_as_lm_eval_does():
    bench = registry.get("hellaswag")
    sample = bench.samples([HELLASWAG_HUB_ROW])[0]
    assert sample.input == "Roof shingle removal: A man is sitting on a roof. He"
    assert sample.id == "24" and sample.target == "3" and len(sample.choices) == 4
    request = bench.request(sample, "loglikelihood", False, [], BenchmarkSpec(name="hellaswag"))
    assert request.prompt == "Roof shingle removal: A man is sitting on a roof. He"
    assert request.continuations[3] == " starts pulling up roofing on a roof."
    wiki = bench.samples([WIKIHOW_ROW])[0]
    assert wiki.input == "Home and Garden: How to clean a grill. Heat the grill."
    # lm-evaluation-harness strips before removing the tags, so a leading tag leaves a leading space
    assert wiki.choices[0] == " Scrub the grates with a brush." and wiki.choices[3] == "Go home. now."
    assert preprocess("a [title] b") == "a. b"


def test_hellaswag_scoring_uses_acc_norm():
    bench = registry.get("hellaswag")
    sample = bench.samples([HELLASWAG_HUB_ROW])[0]
    # the longest ending has the lowest total but the best per-character log-likelihood
    lls = [-30.0, -19.0, -18.0, -20.0]
    values = bench.score(sample, Generation(loglikelihoods=lls), "loglikelihood").values
    assert values == {"acc": 0.0, "acc_norm": 1.0}


def test_winogrande_hub_row_gives_partial_contexts():
    bench = registry.get("winogrande")
    row = {"sentence": "Sarah was a much better surgeon than Maria so _ always got the harder cases.",
           "option1": "Sarah", "option2": "Maria", "answer": "1"}
    sample = bench.samples([row])[0]
    request = bench.request(sample, "loglikelihood", False, [], BenchmarkSpec(name="winogrande"))
    assert request.contexts == ("Sarah was a much better surgeon than Maria so Sarah",
                                "Sarah was a much better surgeon than Maria so Maria")
    assert request.continuations == (" always got the harder cases.",) * 2
    assert sample.target == "0" and sample.choices == ("Sarah", "Maria")
    local = bench.parse({"context_options": list(request.contexts), "continuation": "always got the harder cases.", "gold": 0})
    assert bench.request(local, "loglikelihood", False, [], BenchmarkSpec(name="winogrande")) == request
    assert local.input == row["sentence"] and local.choices == ("Sarah", "Maria")
    values = bench.score(sample, Generation(loglikelihoods=[-3.0, -5.0]), "loglikelihood").values
    assert values == {"acc": 1.0}


def test_arc_piqa_boolq_truthfulqa_hub_rows():
    arc = registry.get("arc_challenge").samples([{"id": "Q1", "question": "Which is a mammal?", "answerKey": "2",
                                                   "choices": {"text": ["shark", "whale", "trout"], "label": ["1", "2", "3"]}}])[0]
    assert arc.target == "1" and arc.choices == ("shark", "whale", "trout") and arc.id == "Q1"
    piqa = registry.get("piqa").samples([{"goal": "g", "sol1": "a", "sol2": "b", "label": 1}] * 6)[5]  # no id field: row index
    assert piqa.target == "1" and piqa.id == "5"
    boolq = registry.get("boolq")
    sample = boolq.samples([{"question": "is it", "passage": "P.", "label": True, "idx": 0}])[0]
    request = boolq.request(sample, "loglikelihood", False, [], BenchmarkSpec(name="boolq"))
    assert request.prompt == "P.\nQuestion: is it?\nAnswer:" and request.continuations == (" no", " yes")
    assert sample.target == "1"
    mc2 = registry.get("truthfulqa_mc2")
    tq = mc2.parse({"question": "Q?", "mc1_targets": {"choices": ["t", "f"], "labels": [1, 0]},
                    "mc2_targets": {"choices": ["t1", "t2", "f1"], "labels": [1, 1, 0]}})
    true = set(tq.metadata["true"])
    assert {tq.choices[i] for i in true} == {"t1", "t2"}
    import math
    lls = [math.log(0.2) if c.startswith("t") else math.log(0.6) for c in tq.choices]
    assert abs(mc2.score(tq, Generation(loglikelihoods=lls), "loglikelihood").values["acc"] - 0.4) < 1e-9


def test_hellaswag_hub_layout_file_loads_through_data_dir(tmp_path):
    import json

    with open(tmp_path / "hellaswag_val.jsonl", "w") as f:
        for row in (HELLASWAG_HUB_ROW, WIKIHOW_ROW):
            f.write(json.dumps(row) + "\n")
    bench = registry.get("hellaswag")
    items = list(bench.requests(BenchmarkSpec(name="hellaswag", data_dir=str(tmp_path)), chat=False, seed=0))
    assert [s.id for s, _, _ in items] == ["24", "4"]  # the dataset's own "ind"
    sample, request, mode = items[0]
    assert mode == "loglikelihood" and request.prompt == "Roof shingle removal: A man is sitting on a roof. He"
    gold = bench.score(sample, Generation(texts=["ANSWER: D"]), "generate").values
    assert gold == {"acc": 1.0}
