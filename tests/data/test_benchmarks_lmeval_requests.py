"""The log-likelihood requests of the OpenCompass-list benchmarks are lm-evaluation-harness's own, item by item (no
model): lm-eval builds each task from its OWN installed YAML (``include:``, only the documents' source replaced by a
local json file written in the hub dataset's layout from the OpenCompass bundle), ``build_all_requests`` constructs its
(context, continuation) pairs, and evalray's ``requests()`` on the bundle itself must give the same strings for a spread
sample of items (every k-th item, about SAMPLE per task).

Deliberate difference, checked as such: MultiRC's gold is the ``yes`` choice for a correct answer (lm-eval's
``doc_to_target: label`` maps label 1 to its ``no`` choice); the pairs themselves are lm-eval's.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DATA

SAMPLE = 40
BUNDLE = SHARED_DATA / "opencompass" / "data"
pytestmark = pytest.mark.skipif(not BUNDLE.is_dir(), reason=f"real data folder {BUNDLE} is absent")


def _jsonl(path: str) -> list[dict[str, Any]]:
    with open(BUNDLE / path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _label(value: Any, names: tuple[str, ...]) -> int:
    return value if isinstance(value, int) else list(names).index(str(value).lower())


# ---- the bundle's files in the hub datasets' layouts (what lm-eval's YAMLs read) ------------------------------------
def _copa() -> list[dict]:
    return _jsonl("SuperGLUE/COPA/val.jsonl")


def _entailment(path: str, first: str, second: str) -> Callable[[], list[dict]]:
    def rows() -> list[dict]:
        return [{"premise": r[first], "hypothesis": r[second], "label": _label(r["label"], ("entailment", "not_entailment"))}
                for r in _jsonl(path)]
    return rows


def _cb() -> list[dict]:
    return [{**r, "label": _label(r["label"], ("entailment", "contradiction", "neutral"))} for r in _jsonl("SuperGLUE/CB/val.jsonl")]


def _wic() -> list[dict]:
    return [{**r, "label": _label(r["label"], ("false", "true"))} for r in _jsonl("SuperGLUE/WiC/val.jsonl")]


def _wsc() -> list[dict]:
    return [{"text": r["text"], **r["target"], "label": _label(r["label"], ("false", "true"))} for r in _jsonl("SuperGLUE/WSC/val.jsonl")]


def _multirc() -> list[dict]:
    return [{"paragraph": d["passage"]["text"], "question": q["question"], "answer": a["text"], "label": a["label"]}
            for d in _jsonl("SuperGLUE/MultiRC/val.jsonl") for q in d["passage"]["questions"] for a in q["answers"]]


def _obqa() -> list[dict]:
    return [{"id": r["id"], "question_stem": r["question"]["stem"], "answerKey": r["answerKey"],
             "choices": {"text": [c["text"] for c in r["question"]["choices"]],
                         "label": [c["label"] for c in r["question"]["choices"]]}} for r in _jsonl("openbookqa/Main/test.jsonl")]


def _siqa() -> list[dict]:
    labels = (BUNDLE / "siqa" / "dev-labels.lst").read_text().split()
    return [{**r, "label": labels[i]} for i, r in enumerate(_jsonl("siqa/dev.jsonl"))]


def _race() -> list[dict]:
    """One lm-eval document per question (its ``problems`` holding just that question): lm-eval's context for it."""
    return [{"article": r["article"], "problems": repr([{"question": r["question"], "options": r["options"],
                                                        "answer": r["answer"]}])} for r in _jsonl("race/test/middle.jsonl")]


def _lambada() -> list[dict]:
    return [{"text": r["prompt"] + " " + r["label"]} for r in _jsonl("lambada/test.jsonl")]


@dataclass(frozen=True)
class Task:
    benchmark: str
    lmeval_yaml: str  # lm-eval's own task file, relative to lm_eval/tasks
    rows: Callable[[], list[dict]]
    spec: dict[str, Any] = field(default_factory=dict)


TASKS: dict[str, Task] = {
    "copa": Task("copa", "super_glue/copa/default.yaml", _copa),
    "rte": Task("rte", "super_glue/rte/default.yaml", _entailment("SuperGLUE/RTE/val.jsonl", "premise", "hypothesis")),
    "axb": Task("axb", "super_glue/rte/default.yaml", _entailment("SuperGLUE/AX-b/AX-b.jsonl", "sentence1", "sentence2")),
    "axg": Task("axg", "super_glue/rte/default.yaml", _entailment("SuperGLUE/AX-g/AX-g.jsonl", "premise", "hypothesis")),
    "cb": Task("cb", "super_glue/cb/default.yaml", _cb),
    "wic": Task("wic", "super_glue/wic/default.yaml", _wic),
    "wsc": Task("wsc", "super_glue/wsc/default.yaml", _wsc),
    "multirc": Task("multirc", "super_glue/multirc/default.yaml", _multirc),
    "obqa": Task("obqa", "openbookqa/openbookqa.yaml", _obqa),
    "siqa": Task("siqa", "siqa/siqa.yaml", _siqa),
    "storycloze_en": Task("storycloze", "xstorycloze/default_en.yaml", lambda: _jsonl("xstory_cloze/en_eval.jsonl"), {"subsets": ["en"]}),
    "storycloze_zh": Task("storycloze", "xstorycloze/default_zh.yaml", lambda: _jsonl("xstory_cloze/zh_eval.jsonl"), {"subsets": ["zh"]}),
    "race": Task("race", "race/race.yaml", _race),
    "lambada": Task("lambada", "lambada/lambada_openai.yaml", _lambada),
}


def picked(n: int) -> list[int]:
    return list(range(0, n, max(1, n // SAMPLE)))


@pytest.fixture(scope="module")
def lmeval_pairs(tmp_path_factory) -> dict[str, dict[int, list[tuple[str, str]]]]:
    """lm-eval's (context, continuation) pairs per picked item of each task."""
    import lm_eval
    from lm_eval.tasks import TaskManager, get_task_dict

    folder = tmp_path_factory.mktemp("lmeval-tasks")
    root = Path(lm_eval.__file__).parent / "tasks"
    indices = {}
    for name, task in TASKS.items():
        rows = task.rows()
        indices[name] = picked(len(rows))
        docs = folder / f"{name}.jsonl"
        docs.write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in indices[name]), encoding="utf-8")
        (folder / f"evr_{name}.yaml").write_text(
            f"include: {root / task.lmeval_yaml}\ntask: evr_{name}\ntag: []\ndataset_path: json\ndataset_name: null\n"
            f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(docs))}\ntraining_split: null\n"
            "validation_split: null\nfewshot_split: null\ntest_split: test\n")
    tasks = get_task_dict([f"evr_{n}" for n in TASKS], TaskManager(include_path=str(folder), include_defaults=False))
    out = {}
    for name in TASKS:
        task = tasks[f"evr_{name}"]
        task.build_all_requests(rank=0, world_size=1)
        pairs: dict[int, list[tuple[str, str]]] = {}
        for inst in sorted(task.instances, key=lambda i: (i.doc_id, i.idx)):
            pairs.setdefault(indices[name][inst.doc_id], []).append(tuple(inst.arguments))
        targets = {indices[name][i]: task.doc_to_target(doc) for i, doc in enumerate(task.eval_docs)}
        out[name] = {"pairs": pairs, "targets": targets}
    return out


def evalray_requests(task: Task):
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    spec = BenchmarkSpec(name=task.benchmark, data_dir=str(BUNDLE), mode="loglikelihood", **task.spec)
    return list(registry.get(task.benchmark).requests(spec, chat=False, seed=0))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_requests_match_lm_eval_per_item(lmeval_pairs, name):
    theirs = lmeval_pairs[name]
    ours = evalray_requests(TASKS[name])
    assert len(ours) == len(TASKS[name].rows())
    assert len(theirs["pairs"]) >= min(SAMPLE, len(ours)) * 0.9
    for index, want in theirs["pairs"].items():
        sample, request, mode = ours[index]
        contexts = request.contexts or (request.prompt,) * len(request.continuations)
        got = list(zip(contexts, request.continuations))
        assert mode == "loglikelihood" and got == want, f"{name} item {sample.id}"
        target = theirs["targets"][index]
        if request.kind == "loglikelihood" and len(want) > 1:
            gold = int(target) if not isinstance(target, str) or target.isdigit() else None
            if name == "multirc":  # the deliberate difference (module docstring)
                assert gold == 1 - int(sample.target), sample.id
            elif gold is not None:
                assert gold == int(sample.target), f"{name} item {sample.id}"
            else:  # a target given as the choice's text (copa)
                assert " " + sample.choices[int(sample.target)] == " " + target.lstrip(" ") or \
                    want[int(sample.target)][1].strip() == target.strip(), f"{name} item {sample.id}"


def test_the_comparison_can_fail(lmeval_pairs):
    """Another prompt (lm-eval's RTE prompt without its 'True or False?') would not match."""
    theirs = lmeval_pairs["rte"]["pairs"]
    index, want = next(iter(theirs.items()))
    _, request, _ = evalray_requests(TASKS["rte"])[index]
    changed = request.prompt.replace(" True or False?", "")
    assert [(changed, c) for c in request.continuations] != want


def test_race_documents_are_lm_evals_single_question_form():
    row = _race()[0]
    assert len(ast.literal_eval(row["problems"])) == 1
