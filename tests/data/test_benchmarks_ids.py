"""Sample ids on the real data: for every registered benchmark the ids are unique and are the dataset's own id field
where it has one (else the subset-prefixed row index), derived here from the raw files, not through the benchmark
readers. A replay keyed by the datasets' own ids (built from the raw files, with the gold answers) scores 1.0 on
MATH-500 (unique_id), HumanEval (task_id) and ARC (id) through the pipeline and through the replay backend; IFEval
(key) has no gold responses, so each key gets a response of its own and every score must equal lm-evaluation-harness's
``process_results`` on the raw record of that key."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from tests.conftest import shared_data

pytestmark = pytest.mark.timeout(1200)
LETTERS = "ABCDEFGHIJ"

# every registered benchmark -> its folder in ../shared/data
FOLDERS = {
    "arc_challenge": "arc", "arc_easy": "arc", "bbh": "bbh", "boolq": "boolq", "ceval": "ceval", "cmmlu": "cmmlu",
    "gsm8k": "gsm8k", "hellaswag": "hellaswag", "humaneval": "humaneval", "ifeval": "ifeval", "math": "math",
    "math500": "math", "mbpp": "mbpp", "mmlu": "mmlu", "nq_open": "nq_open", "piqa": "piqa", "triviaqa": "triviaqa",
    "truthfulqa_mc1": "truthfulqa", "truthfulqa_mc2": "truthfulqa", "winogrande": "winogrande",
    # judged benchmarks (registered where the judges are installed)
    "mt_bench": "mt_bench", "arena_hard": "arena_hard", "alpaca_eval": "alpaca_eval",
}
JUDGED = {"mt_bench", "arena_hard", "alpaca_eval"}
ARENA_HARD = ("arena-hard-v0.1", "arena-hard-v2.0")
MATH_SUBJECTS = {"Algebra": "algebra", "Counting & Probability": "counting_and_probability", "Geometry": "geometry",
                 "Intermediate Algebra": "intermediate_algebra", "Number Theory": "number_theory",
                 "Prealgebra": "prealgebra", "Precalculus": "precalculus"}


# ---- the raw files, read directly --------------------------------------------------------------------------------------
def jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def arc_rows(folder: Path, name: str) -> list[dict[str, Any]]:
    part = {"arc_easy": "ARC-Easy", "arc_challenge": "ARC-Challenge"}[name]
    return jsonl(folder / part / f"{part}-Test.jsonl")


def row_ids(count: int, prefix: str | None = None) -> list[str]:
    return [f"{prefix}/{i}" if prefix else str(i) for i in range(count)]


def per_file(files: list[Path], subset: Callable[[Path], str], count: Callable[[Path], int]) -> list[str]:
    return [i for path in files for i in row_ids(count(path), subset(path))]


def math_ids(folder: Path) -> list[str]:
    counts: dict[str, int] = {}
    ids = []
    for row in jsonl(folder / "math" / "test.jsonl"):
        subject = MATH_SUBJECTS[row["type"]]
        ids.append(f"{subject}/{counts.setdefault(subject, 0)}")
        counts[subject] += 1
    return ids


def lines(path: Path) -> int:
    """Non-empty JSONL lines (split on newlines only: TriviaQA has a U+2028 inside one of its strings)."""
    return sum(1 for line in path.read_bytes().split(b"\n") if line.strip())


EXPECTED: dict[str, Callable[[Path], list[str]]] = {
    # the dataset's own id field, verbatim
    "math500": lambda d: [r["unique_id"] for r in jsonl(d / "math_oai" / "test.jsonl")],
    "humaneval": lambda d: [r["task_id"] for r in jsonl(d / "HumanEval.jsonl.gz")],
    "ifeval": lambda d: [str(r["key"]) for r in jsonl(d / "instruction_following_eval" / "data" / "input_data.jsonl")],
    "arc_easy": lambda d: [r["id"] for r in arc_rows(d, "arc_easy")],
    "arc_challenge": lambda d: [r["id"] for r in arc_rows(d, "arc_challenge")],
    "mbpp": lambda d: [str(r["task_id"]) for r in jsonl(d / "Evaluation" / "MBPP" / "data" / "mbpp.jsonl")
                       if 11 <= int(r["task_id"]) <= 510],
    "boolq": lambda d: [str(r["idx"]) for r in jsonl(d / "data" / "SuperGLUE" / "BoolQ" / "val.jsonl")],
    "mt_bench": lambda d: [str(r["question_id"]) for r in jsonl(d / "fastchat" / "llm_judge" / "data" / "mt_bench" / "question.jsonl")],
    "arena_hard": lambda d: [r["uid"] for v in ARENA_HARD for r in jsonl(d / "data" / v / "question.jsonl")],
    # no id field (or one that repeats across subjects): the row index, subset-prefixed
    "gsm8k": lambda d: row_ids(lines(d / "test.jsonl")),
    "mmlu": lambda d: per_file(sorted((d / "data" / "mmlu" / "test").glob("*_test.csv")),
                               lambda p: p.name[: -len("_test.csv")], lambda p: len(csv_rows(p))),
    "cmmlu": lambda d: per_file(sorted((d / "data" / "test").glob("*.csv")), lambda p: p.stem, lambda p: len(csv_rows(p))),
    "ceval": lambda d: per_file(sorted((d / "ceval-exam" / "val").glob("*_val.csv")),
                                lambda p: p.name[: -len("_val.csv")], lambda p: len(csv_rows(p))),
    "bbh": lambda d: per_file(sorted((d / "bbh").glob("*.json")), lambda p: p.stem,
                              lambda p: len(json.loads(p.read_text(encoding="utf-8"))["examples"])),
    "math": math_ids,
    "truthfulqa_mc1": lambda d: row_ids(len(json.loads((d / "TruthfulQA" / "data" / "mc_task.json").read_text()))),
    "truthfulqa_mc2": lambda d: row_ids(len(json.loads((d / "TruthfulQA" / "data" / "mc_task.json").read_text()))),
    "hellaswag": lambda d: row_ids(lines(d / "tests" / "eval" / "local_data" / "hellaswag_small.jsonl")),
    "winogrande": lambda d: row_ids(lines(d / "scripts" / "eval" / "local_data" / "language_understanding" / "winogrande.jsonl")),
    "triviaqa": lambda d: row_ids(lines(d / "scripts" / "eval" / "local_data" / "world_knowledge" / "triviaqa_sm_sub.jsonl")),
    "nq_open": lambda d: row_ids(lines(d / "nq_open" / "NQ-open.dev.jsonl")),
    "piqa": lambda d: row_ids(lines(d / "piqa" / "data" / "valid.jsonl")),
    "alpaca_eval": lambda d: row_ids(len(json.loads((d / "example" / "outputs.json").read_text(encoding="utf-8")))),
}
# the raw text each own-id sample must carry: the id names the right record, not just a value of the field
OWN_TEXT: dict[str, Callable[[Path], dict[str, str]]] = {
    "math500": lambda d: {r["unique_id"]: r["problem"] for r in jsonl(d / "math_oai" / "test.jsonl")},
    "humaneval": lambda d: {r["task_id"]: r["prompt"] for r in jsonl(d / "HumanEval.jsonl.gz")},
    "ifeval": lambda d: {str(r["key"]): r["prompt"] for r in jsonl(d / "instruction_following_eval" / "data" / "input_data.jsonl")},
    "arc_easy": lambda d: {r["id"]: r["question"]["stem"] for r in arc_rows(d, "arc_easy")},
    "arc_challenge": lambda d: {r["id"]: r["question"]["stem"] for r in arc_rows(d, "arc_challenge")},
    "mbpp": lambda d: {str(r["task_id"]): r["text"] for r in jsonl(d / "Evaluation" / "MBPP" / "data" / "mbpp.jsonl")},
    "boolq": lambda d: {str(r["idx"]): r["question"] for r in jsonl(d / "data" / "SuperGLUE" / "BoolQ" / "val.jsonl")},
}


# the benchmarks of the OpenCompass list read the bundle (ids from its raw files: test_benchmarks_opencompass_oracle.py)
from tests.data.test_benchmarks_opencompass_oracle import HUB_ONLY, OPENCOMPASS_FOLDER, OPENCOMPASS_IDS  # noqa: E402

FOLDERS.update({name: OPENCOMPASS_FOLDER for name in [*OPENCOMPASS_IDS, *HUB_ONLY]})
EXPECTED.update(OPENCOMPASS_IDS)
EXPECTED.update({name: lambda d: pytest.skip("hub only: no local copy") for name in HUB_ONLY})


def test_every_registered_benchmark_is_covered():
    assert set(FOLDERS) == set(EXPECTED)
    assert set(registry.names()) <= set(FOLDERS) and set(FOLDERS) - JUDGED <= set(registry.names())


@pytest.mark.parametrize("name", sorted(FOLDERS))
def test_ids_are_unique_and_the_datasets_own(name):
    if name not in registry.names():
        pytest.skip(f"benchmark {name} is not registered here")
    if name in HUB_ONLY:
        pytest.skip(f"benchmark {name} has no local copy (hub only)")
    folder = shared_data(FOLDERS[name])
    samples = registry.get(name).load(BenchmarkSpec(name=name, data_dir=str(folder)))
    ids = [s.id for s in samples]
    assert len(set(ids)) == len(ids), name
    assert sorted(ids) == sorted(EXPECTED[name](folder))
    if name in OWN_TEXT:
        text = OWN_TEXT[name](folder)
        assert all(s.input == text[s.id] for s in samples), name


# ---- replays keyed by the datasets' own ids ----------------------------------------------------------------------------
REPLAYED = {"math500": "math", "humaneval": "humaneval", "ifeval": "ifeval", "arc_easy": "arc", "arc_challenge": "arc"}
METRIC = {"math500": "exact_match", "humaneval": "pass@1", "arc_easy": "acc", "arc_challenge": "acc",
          "ifeval": "prompt_level_strict_acc"}


def ifeval_records(folder: Path) -> dict[str, dict[str, Any]]:
    return {str(r["key"]): r for r in jsonl(folder / "instruction_following_eval" / "data" / "input_data.jsonl")}


def ifeval_response(record: dict[str, Any]) -> str:
    """IFEval has no gold responses: each key gets its own (its prompt, repeated), so a mis-keyed one is caught."""
    return f"{record['prompt']}\n\nkey {record['key']}"


def ifeval_reference(folder: Path, seeds: range) -> dict[str, set[float]]:
    """lm-evaluation-harness's own process_results on each raw record and its key's response, under each global
    random seed: a result can depend on it (key 1129 asks for the letter "!", which the checker swaps for a random
    letter)."""
    import random

    pytest.importorskip("lm_eval.tasks.ifeval.utils")
    from evalray.scoring import ifeval_checks

    utils = ifeval_checks._modules()  # lm-eval's module, with the offline sentence tokenizer installed
    reference: dict[str, set[float]] = {}
    for key, r in ifeval_records(folder).items():
        for seed in seeds:
            random.seed(seed)
            reference.setdefault(key, set()).add(float(utils.process_results(r, [ifeval_response(r)])["prompt_level_strict_acc"]))
    random.seed()
    return reference


def gold_outputs(name: str, folder: Path) -> dict[str, str]:
    """Raw id -> output, from the raw files only."""
    if name == "math500":
        return {r["unique_id"]: f"Hence the answer is $\\boxed{{{r['answer']}}}$." for r in jsonl(folder / "math_oai" / "test.jsonl")}
    if name == "humaneval":
        return {r["task_id"]: r["canonical_solution"] for r in jsonl(folder / "HumanEval.jsonl.gz")}
    if name == "ifeval":
        return {key: ifeval_response(r) for key, r in ifeval_records(folder).items()}
    labels = lambda r: [c["label"] for c in r["question"]["choices"]]  # noqa: E731
    return {r["id"]: f"ANSWER: {LETTERS[labels(r).index(r['answerKey'])]}" for r in arc_rows(folder, name)}


def write_replay(path: Path) -> dict[str, dict[str, str]]:
    """One JSONL for all five benchmarks: ARC lines name their benchmark, the others are keyed by id alone."""
    outputs = {name: gold_outputs(name, shared_data(folder)) for name, folder in REPLAYED.items()}
    with open(path, "w", encoding="utf-8") as f:
        for name, by_id in outputs.items():
            for key, output in by_id.items():
                line = {"id": key, "output": output, **({"benchmark": name} if name.startswith("arc") else {})}
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
    return outputs


def replay_spec(source: Path):
    from evalray.job import spec

    fields = {"name": "oracle", "backend": "replay", "source": str(source)}
    parse = getattr(spec, "parse_model_spec", None)
    return parse(fields) if parse else spec.ModelSpec(**fields)


def test_replay_backend_keyed_by_dataset_ids_scores_gold(tmp_path):
    from evalray.models.replay import ReplayBackend

    outputs = write_replay(tmp_path / "replay.jsonl")
    backend = ReplayBackend(replay_spec(tmp_path / "replay.jsonl"))
    import random

    reference = ifeval_reference(shared_data("ifeval"), range(1))
    for name, folder in REPLAYED.items():
        bench = registry.get(name)
        items = list(bench.requests(BenchmarkSpec(name=name, data_dir=str(shared_data(folder))), False, 0, True))
        generations = backend.generate([request for _, request, _ in items])
        assert len(items) == len(outputs[name]) and all(g.error is None for g in generations), name
        for (sample, _, mode), generation in zip(items, generations):
            assert generation.texts == [outputs[name][sample.id]]
            random.seed(0)  # the random state lm-eval's reference had
            value = bench.score(sample, generation, mode).values[METRIC[name]]
            assert {value} == (reference[sample.id] if name == "ifeval" else {1.0}), (name, sample.id)
    random.seed()


def test_pipeline_replay_keyed_by_dataset_ids_scores_gold(ray_session, tmp_path):
    from evalray.job.loader import build_job
    from evalray.pipeline.runner import run_job

    outputs = write_replay(tmp_path / "replay.jsonl")
    reference = ifeval_reference(shared_data("ifeval"), range(40))  # a scoring worker's random state is its own
    job = build_job({
        "name": "own-ids", "output": str(tmp_path / "run"),
        "models": [{"name": "oracle", "backend": "replay", "source": str(tmp_path / "replay.jsonl"),
                    "resources": {"num_cpus": 0.5}}],
        "benchmarks": [{"name": name, "data_dir": str(shared_data(folder))} for name, folder in REPLAYED.items()],
    })
    result = run_job(job, progress=False).result
    assert result["status"] == "completed"
    counts = {row["benchmark"]: row for row in result["counts"]}
    overall = {(r["benchmark"], r["metric"]): r for r in result["scores"] if r["subset"] is None and r["level"] == "overall"}
    for name in REPLAYED:
        assert counts[name]["samples"] == len(outputs[name]) and counts[name]["errors"] == 0, counts[name]
        row = overall[(name, METRIC[name])]
        assert row["n"] == len(outputs[name])
        if name == "ifeval":  # every key as lm-eval scores it; one whose result is random may go either way
            low, high = (sum(f(v) for v in reference.values()) / len(reference) for f in (min, max))
            assert low - 1e-6 <= row["value"] <= high + 1e-6 and high - low <= 2 / len(reference), row
        else:
            assert row["value"] == 1.0, row
