"""gsm8k and mmlu: hub rows (load_dataset stubbed), ids, limits, subsets, prompts and scoring."""

from __future__ import annotations

import pytest

from evalray.benchmarks import registry
from evalray.benchmarks.base import clear_cache
from evalray.errors import ConfigError
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation


@pytest.fixture
def fake_hub(monkeypatch):
    rows = {
        ("cais/mmlu", "all", "test"): [
            {"question": f"q{i}", "subject": subject, "choices": ["w", "x", "y", "z"], "answer": i % 4}
            for subject in ("anatomy", "virology") for i in range(3)
        ],
        ("cais/mmlu", "all", "dev"): [
            {"question": f"d{i}", "subject": "anatomy", "choices": ["1", "2", "3", "4"], "answer": 1} for i in range(5)
        ],
        ("openai/gsm8k", "main", "test"): [{"question": "2+2?", "answer": "2+2=4\n#### 4"}] * 3,
    }
    calls = []

    def load_dataset(path, config=None, split=None):
        calls.append((path, config, split))
        return rows[(path, config, split)]

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    clear_cache()  # loads are cached per spec: never serve another test's hub
    yield calls
    clear_cache()


def test_hub_sources_and_ids(fake_hub):
    mmlu = registry.get("mmlu").load(BenchmarkSpec(name="mmlu", limit=2))
    assert [s.id for s in mmlu] == ["anatomy/0", "anatomy/1", "virology/0", "virology/1"]
    assert mmlu[1].target == "1" and mmlu[1].choices == ("w", "x", "y", "z")
    gsm8k = registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k"))
    assert [s.id for s in gsm8k] == ["0", "1", "2"] and gsm8k[0].target == "4"
    assert ("cais/mmlu", "all", "test") in fake_hub and ("openai/gsm8k", "main", "test") in fake_hub


def test_mmlu_five_shot_prompt_is_lm_eval_default(fake_hub):
    benchmark = registry.get("mmlu")
    spec = BenchmarkSpec(name="mmlu", few_shot=2, subsets=["anatomy"], limit=1)
    (sample, request, mode), = list(benchmark.requests(spec, chat=False, seed=0))
    assert mode == "loglikelihood"
    assert request.prompt == (
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
        "d0\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n"
        "d1\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: B\n\n"
        "q0\nA. w\nB. x\nC. y\nD. z\nAnswer:"
    )
    assert request.continuations == (" A", " B", " C", " D")


def test_chat_models_default_to_generate_with_answer_letter(fake_hub):
    benchmark = registry.get("mmlu")
    (sample, request, mode), = list(benchmark.requests(BenchmarkSpec(name="mmlu", limit=1, subsets=["virology"]), True, 0))
    assert mode == "generate" and request.messages[0]["role"] == "user"
    assert "ANSWER: $LETTER" in request.messages[0]["content"] and "A) w" in request.messages[0]["content"]
    assert benchmark.score(sample, Generation(texts=["Reasoning...\nANSWER: A"]), mode).values == {"acc": 1.0}


def test_unknown_subset_and_offline_hub_are_clear_errors(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    clear_cache()
    with pytest.raises(ConfigError, match="could not load cais/mmlu .* set data_dir"):
        registry.get("mmlu").load(BenchmarkSpec(name="mmlu"))
    with pytest.raises(ConfigError, match="unknown subset 'marketin' \\(did you mean 'marketing'\\?\\)"):
        registry.get("mmlu").load(BenchmarkSpec(name="mmlu", data_dir="builtin:quickstart/mmlu", subsets=["marketin"]))


def test_gsm8k_base_prompt_and_scoring():
    benchmark = registry.get("gsm8k")
    spec = BenchmarkSpec(name="gsm8k", data_dir="builtin:quickstart/gsm8k", limit=1)
    (sample, request, mode), = list(benchmark.requests(spec, chat=False, seed=0))
    assert request.prompt.startswith("Question: Janet") and request.prompt.endswith("\nAnswer:")
    assert "Question:" in request.stop
    assert benchmark.score(sample, Generation(texts=["16-3-4=9, 9*2=18. #### 18"]), mode).values == {"exact_match": 1.0}
    assert benchmark.score(sample, Generation(texts=["18 eggs... no, 17"]), mode).values == {"exact_match": 0.0}


def test_shipped_quickstart_samples_parse_completely():
    mmlu = registry.get("mmlu").load(BenchmarkSpec(name="mmlu", data_dir="builtin:quickstart/mmlu"))
    assert len(mmlu) == 40 and all(len(s.choices) == 4 for s in mmlu)
    assert len(registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir="builtin:quickstart/gsm8k"))) == 50


def test_samples_and_shots_are_built_once_per_spec(monkeypatch):
    """A second model (chat or not, generate-only or not) reuses the first one's samples: no file is read again."""
    from evalray.benchmarks.mmlu import MMLU

    clear_cache()
    reads = []
    original = MMLU.read_file
    monkeypatch.setattr(MMLU, "read_file", lambda self, path: reads.append(path.name) or original(self, path))
    spec = BenchmarkSpec(name="mmlu", data_dir="builtin:quickstart/mmlu")
    base = list(registry.get("mmlu").requests(spec, chat=False, seed=0))
    assert len(reads) == 4 and len(base) == 40
    chat = list(registry.get("mmlu").requests(spec, chat=True, seed=0))
    replay = list(registry.get("mmlu").requests(spec, chat=False, seed=0, force_generate=True))
    assert len(reads) == 4  # nothing re-read
    assert [s for s, _, _ in base] == [s for s, _, _ in chat] == [s for s, _, _ in replay]
    assert all(a is b for (a, _, _), (b, _, _) in zip(base, chat))  # the very same samples
    assert {m for _, _, m in base} == {"loglikelihood"} and {m for _, _, m in chat} == {"generate"}
    assert all(r.uid == s.uid for s, r, _ in base)
    registry.get("mmlu").load(spec.model_copy(update={"limit": 2}))  # another spec is another load
    assert len(reads) == 8
    clear_cache()
