"""Collections: gsm8k + mmlu + arc_easy mixed 2:1:1, drawn reproducibly from a seed; each sample keeps its
component's prompt and scorer; sizes per sampling rule; one-line errors."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from evalray.benchmarks import registry
from evalray.benchmarks._collection import draw, quotas
from evalray.errors import ConfigError
from evalray.job.loader import build_job
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation

GSM8K = {"name": "gsm8k", "data_dir": "builtin:quickstart/gsm8k"}  # 50 problems
MMLU = {"name": "mmlu", "data_dir": "builtin:quickstart/mmlu"}  # 4 subjects x 10


def write_arc(folder, n=30):
    """An ARC-Easy test file in the original layout (ARC-Easy/ARC-Easy-Test.jsonl), answers cycling A-D."""
    (folder / "ARC-Easy").mkdir(parents=True)
    with open(folder / "ARC-Easy" / "ARC-Easy-Test.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            choices = [{"text": f"option {c}", "label": c} for c in "ABCD"]
            f.write(json.dumps({"id": f"arc-{i}", "question": {"stem": f"Question {i}?", "choices": choices},
                                "answerKey": "ABCD"[i % 4]}) + "\n")
    return str(folder)


def mix(tmp_path, **collection):
    components = [GSM8K, MMLU, {"name": "arc_easy", "data_dir": write_arc(tmp_path / "arc")}]
    entry = BenchmarkSpec(name="mix", collection={"benchmarks": components, **collection})
    return registry.for_entry(entry), entry


def test_quotas_per_sampling_rule():
    available = {"gsm8k": 50, "mmlu": 40, "arc_easy": 30}
    assert quotas(available, [2, 1, 1], "weighted", 40) == {"gsm8k": 20, "mmlu": 10, "arc_easy": 10}
    assert quotas(available, [2, 1, 1], "weighted", 41) == {"gsm8k": 21, "mmlu": 10, "arc_easy": 10}
    assert quotas(available, [2, 1, 1], "weighted", None) == {"gsm8k": 50, "mmlu": 25, "arc_easy": 25}
    assert quotas(available, [1, 1, 1], "stratified", None) == available
    assert quotas(available, [1, 1, 1], "stratified", 12) == {"gsm8k": 5, "mmlu": 4, "arc_easy": 3}
    assert quotas(available, [1, 1, 1], "uniform", None) == {"gsm8k": 30, "mmlu": 30, "arc_easy": 30}
    assert quotas(available, [1, 1, 1], "uniform", 10) == {"gsm8k": 4, "mmlu": 3, "arc_easy": 3}
    assert quotas(available, [0, 1, 1], "weighted", None) == {"gsm8k": 0, "mmlu": 30, "arc_easy": 30}
    with pytest.raises(ConfigError, match="component gsm8k has 50 samples, its share of 200 is 100"):
        quotas(available, [2, 1, 1], "weighted", 200)


def test_draw_is_reproducible_whatever_the_input_order():
    ids = {"a": [str(i) for i in range(100)], "b": [str(i) for i in range(50)]}
    first = draw(ids, [1, 1], "weighted", 20, seed=7)
    again = draw({"b": list(reversed(ids["b"])), "a": ids["a"][::-1]}, [1, 1], "weighted", 20, seed=7)
    assert {k: sorted(v) for k, v in first.items()} == {k: sorted(v) for k, v in again.items()}
    assert sorted(draw(ids, [1, 1], "weighted", 20, seed=8)["a"]) != sorted(first["a"])


def test_collection_2_1_1_samples_reproducibly_and_keeps_each_components_prompt(tmp_path):
    b, entry = mix(tmp_path, weights=[2, 1, 1], size=40, seed=1)
    items = list(b.requests(entry, chat=False, seed=0))
    ids = [s.id for s, _, _ in items]
    assert len(ids) == len(set(ids)) == 40
    assert Counter(s.subset for s, _, _ in items) == {"gsm8k": 20, "mmlu": 10, "arc_easy": 10}  # 2:1:1
    assert {m for s, _, m in items if s.subset == "gsm8k"} == {"generate"}
    assert {m for s, _, m in items if s.subset != "gsm8k"} == {"loglikelihood"}  # base model: mmlu, arc by log-lik
    assert all(s.benchmark == "mix" and r.uid == f"mix::{s.id}" and s.id.startswith(s.subset + "/")
               for s, r, _ in items)
    assert any(s.id.startswith("mmlu/") and s.id.count("/") == 2 for s, _, _ in items)  # mmlu/<subject>/<row>
    # the same seed: the same samples (a fresh instance, another job seed); another seed: others
    again, entry2 = mix(tmp_path / "again", weights=[2, 1, 1], size=40, seed=1)
    assert sorted(s.id for s, _, _ in again.requests(entry2, chat=False, seed=99)) == sorted(ids)
    other, entry3 = mix(tmp_path / "other", weights=[2, 1, 1], size=40, seed=2)
    assert sorted(s.id for s, _, _ in other.requests(entry3, chat=False, seed=0)) != sorted(ids)
    # without its own seed the collection follows the job's
    free, entry4 = mix(tmp_path / "free", weights=[2, 1, 1], size=40)
    assert sorted(s.id for s, _, _ in free.requests(entry4, chat=False, seed=1)) == sorted(ids)
    # a component's prompt is its own: gsm8k's lm-eval layout, mmlu's preamble
    gsm8k = next(r for s, r, _ in items if s.subset == "gsm8k")
    assert gsm8k.prompt.startswith("Question: ") and gsm8k.prompt.endswith("\nAnswer:")
    assert next(r for s, r, _ in items if s.subset == "mmlu").prompt.startswith("The following are multiple choice")


def test_collection_scores_each_sample_by_its_components_primary_metric(tmp_path):
    b, entry = mix(tmp_path, weights={"gsm8k": 2, "mmlu": 1, "arc_easy": 1}, size=8, seed=0, )
    for sample, request, mode in b.requests(entry, chat=True, seed=0):
        gold = sample.target if sample.subset == "gsm8k" else "ABCD"[int(sample.target)]
        assert b.score(sample, Generation(texts=[f"ANSWER: {gold}"]), mode).values == {"score": 1.0}
        wrong = "-1" if sample.subset == "gsm8k" else "ABCD"[(int(sample.target) + 1) % len(sample.choices)]
        assert b.score(sample, Generation(texts=[f"ANSWER: {wrong}"]), mode).values == {"score": 0.0}


@pytest.mark.parametrize("collection, expected", [
    ({"benchmarks": [GSM8K, MMLU], "weights": [1]}, "benchmarks.0.collection.weights: 1 weights for 2 benchmarks"),
    ({"benchmarks": [GSM8K, MMLU], "weights": {"gsm8k": 1, "mmlu2": 1}},
     "benchmarks.0.collection.weights.mmlu2: unknown component 'mmlu2' (did you mean 'mmlu'?)"),
    ({"benchmarks": [GSM8K, MMLU], "weights": [1, 1], "sampling": "uniform"},
     "benchmarks.0.collection.weights: weights apply to sampling: weighted"),
    ({"benchmarks": [GSM8K, GSM8K]}, "benchmarks.0.collection.benchmarks: component 'gsm8k' appears twice"),
    ({"benchmarks": [GSM8K, {"name": "gsm9k"}]}, "benchmarks.0.collection.benchmarks.1.name: unknown benchmark 'gsm9k'"),
    ({"benchmarks": [GSM8K, {"name": "inner", "collection": {"benchmarks": [MMLU]}}]},
     "benchmarks.0.collection.benchmarks.1.collection: a collection cannot contain another collection"),
    ({"benchmarks": [GSM8K], "weights": [0]}, "benchmarks.0.collection.weights: weights must be non-negative"),
    ({"benchmarks": [{"name": "mt_bench"}, {**GSM8K, "judge": {"strategy": "llm"}}]},
     "benchmarks.0.collection.benchmarks.1: a collection's components are scored by their own rules"),
])
def test_collection_mistakes_are_one_line_naming_the_key(collection, expected):
    job = {"name": "j", "models": [{"name": "m", "source": "builtin:tiny-llama"}],
           "benchmarks": [{"name": "mix", "collection": collection}]}
    with pytest.raises(ConfigError) as error:
        build_job(job)
    assert str(error.value).startswith("job: " + expected), str(error.value)


def test_the_same_benchmark_twice_with_different_subsets(tmp_path):
    parts = [{**MMLU, "subsets": ["marketing"]}, {**MMLU, "subsets": ["philosophy", "abstract_algebra"]}]
    entry = BenchmarkSpec(name="mix", collection={"benchmarks": parts, "sampling": "uniform"})
    items = list(registry.for_entry(entry).requests(entry, chat=False, seed=0))
    assert Counter(s.subset for s, _, _ in items) == {"mmlu:marketing": 10, "mmlu:philosophy+abstract_algebra": 10}


@pytest.mark.parametrize("key, value", [("limit", 3), ("data_dir", "x"), ("repeats", 2), ("judge", {"strategy": "llm"})])
def test_keys_of_components_are_refused_on_the_collection(key, value):
    job = {"name": "j", "models": [{"name": "m", "source": "builtin:tiny-llama"}],
           "benchmarks": [{"name": "mix", "collection": {"benchmarks": [GSM8K]}, key: value}]}
    with pytest.raises(ConfigError, match=f"job: benchmarks.0.{key}: a collection "):
        build_job(job)


def test_a_collection_of_your_own_data_and_a_builtin_validates_again_from_its_resolved_form(tmp_path):
    import yaml

    from evalray.job.loader import public_job_dict

    (tmp_path / "quiz.csv").write_text("question,A,B,answer\n" + "".join(f"Q{i}?,x,y,{'AB'[i % 2]}\n" for i in range(6)))
    own = {"name": "quiz", "type": "general_mcq", "path": str(tmp_path / "quiz.csv"), "mode": "generate"}
    job = build_job({"name": "j", "models": [{"name": "m", "source": "builtin:tiny-llama"}],
                     "benchmarks": [{"name": "mix", "collection": {"benchmarks": [GSM8K, own], "weights": {"quiz": 1, "gsm8k": 1},
                                                                   "size": 8, "seed": 3}}]})
    assert build_job(yaml.safe_load(yaml.safe_dump(public_job_dict(job)))) == job  # what `evalray validate` prints
    entry = job.benchmarks[0]
    items = list(registry.for_entry(entry).requests(entry, chat=False, seed=0))
    assert Counter(s.subset for s, _, _ in items) == {"gsm8k": 4, "quiz": 4}
    assert {m for s, _, m in items if s.subset == "quiz"} == {"generate"}  # the component's own mode
    sample = next(s for s, _, _ in items if s.subset == "quiz")
    gold = "AB"[int(sample.target)]
    assert registry.for_entry(entry).score(sample, Generation(texts=[f"ANSWER: {gold}"]), "generate").values == {"score": 1.0}


def test_a_judged_benchmark_cannot_be_a_component():
    entry = BenchmarkSpec(name="mix", collection={"benchmarks": [GSM8K, {"name": "mt_bench"}]})
    with pytest.raises(ConfigError, match="benchmark mix: component mt_bench is scored by judges"):
        registry.for_entry(entry)
