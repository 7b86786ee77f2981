"""Oracle tests of the benchmarks from the OpenCompass list on the real OpenCompass bundle (../shared/data/opencompass/
data; no Ray, no model): every benchmark loads the MANIFEST-2 count of samples with unique ids, gold outputs score
exactly 1.0 and all-wrong outputs 0.0 through the benchmark's own generate-mode scorer (as a replay model is scored),
and for the log-likelihood benchmarks a Generation whose gold continuation is the most likely scores 1.0 (another
choice: 0.0)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from evalray.benchmarks import registry
from evalray.benchmarks.base import LETTERS
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation, Sample
from tests.conftest import shared_data

# benchmark -> MANIFEST-2 count of scored items (MultiRC: its 83 paragraphs hold 4,848 answers, one item each;
# storycloze: en + zh eval, 1,511 each; race: middle test only, high is not in the bundle; agieval: the 21 v1 files,
# less jec-qa-kd line 212, which has neither label nor answer)
COUNTS = {
    "obqa": 500, "siqa": 1954, "race": 1436, "storycloze": 3022,
    "copa": 100, "rte": 277, "cb": 56, "wic": 638, "wsc": 104, "axb": 1104, "axg": 356, "multirc": 4848,
    "lambada": 5153, "strategyqa": 2290, "agieval": 8269 - 1,
    # CLUE / FewCLUE (CMNLI and OCNLI: less their 185 and 50 lines labelled "-", as OpenCompass; C3: dev_0 + m-dev)
    "clue_afqmc": 4316, "cmnli": 12426 - 185, "ocnli": 3000 - 50, "ocnli_fc": 2520, "c3": 1825 + 1991, "bustm": 1772,
    "chid": 2002, "cluewsc": 976, "csl": 2838, "eprstmt": 610, "tnews": 926, "cmrc": 3219, "drcd": 3524,
    "lcsts": 10666, "gaokao": 1781,
}
HUB_ITEMS = {"race": 1436 + 3498}  # `items` where the hub default holds more than the bundle
CHOICE = set(COUNTS) - {"lambada", "strategyqa", "agieval", "cmrc", "drcd", "lcsts", "gaokao"}  # generative form: an option letter
LOGLIKELIHOOD = CHOICE  # + agieval (multi-answer: its own test) + lambada: one continuation, scored by is_greedy (its own test)


def bundle() -> str:
    return str(shared_data("opencompass") / "data")


def gold_output(name: str, s: Sample) -> str:
    if name in CHOICE:
        return f"Reading the options once more.\nANSWER: {LETTERS[s.metadata['answer']]}"
    if name == "lambada":
        # OpenCompass's LambadaEvaluator compares the first word, cut at punctuation, after general_postprocess: the
        # bundle's gold words with punctuation ('"Nadia', 'thought...Tess') are matched by their bare word
        from evalray.benchmarks._opencompass import general_postprocess

        return f" {general_postprocess(s.target)}. And then"
    if name == "strategyqa":
        return f"Thinking about it step by step.\nSo the answer is {s.target}\n\nQuestion: unrelated, yes"
    if name == "agieval":
        if s.metadata["kind"] == "cloze":
            return f"Working it out gives $\\boxed{{{s.target}}}$"
        return f"ANSWER: {s.metadata['letters']}"
    if name in ("cmrc", "drcd"):
        return f"根据文章，答案是{s.target}"
    if name == "lcsts":
        return s.target
    if name == "gaokao":
        return gaokao_output(s.metadata["kind"], s.metadata["answers"])
    raise KeyError(name)


def gaokao_output(kind: str, answers: list[str]) -> str:
    """An answer in the format GAOKAO-Bench's prompts ask for."""
    if kind in ("single_choice", "multi_choice"):
        return f"【解析】 略 <eoe>\n【答案】 {answers[0]} <eoa>"
    if kind == "multi_question_choice":
        return "\n".join(f"（{i + 1}）【答案】 {a} <eoa>" for i, a in enumerate(answers))
    return f"【答案】 {' '.join(answers)} <eoa>"


def _shift(letter: str, letters: str = "ABCD") -> str:
    return letters[(letters.index(letter) + 1) % len(letters)]


def wrong_output(name: str, s: Sample) -> str:
    if name in CHOICE:
        return f"ANSWER: {LETTERS[(s.metadata['answer'] + 1) % s.metadata['n_options']]}"
    if name == "lambada":
        return "zzzq, as it were."
    if name == "strategyqa":
        return f"So the answer is {'no' if s.target == 'yes' else 'yes'}"
    if name == "agieval":
        if s.metadata["kind"] == "cloze":
            return "The answer is \\boxed{\\text{zzz}}"
        letters = s.metadata["letters"]
        return f"ANSWER: {letters[:-1] if len(letters) > 1 else 'ABCDE'[('ABCDE'.index(letters) + 1) % len(s.choices)]}"
    if name in ("cmrc", "drcd"):
        return "答案是zzzq"
    if name == "lcsts":
        return "ㄅㄆㄇㄈ"
    if name == "gaokao":
        kind, answers = s.metadata["kind"], s.metadata["answers"]
        if kind == "multi_choice":  # a letter that is not in the gold set: no point
            return gaokao_output(kind, [next(c for c in "ABCD" if c not in answers[0])])
        return gaokao_output(kind, [_shift(a, "ABCDEFG" if kind == "five_out_of_seven" else "ABCD") for a in answers])
    raise KeyError(name)


def items(name: str, mode: str = "generate"):
    bench = registry.get(name)
    spec = BenchmarkSpec(name=name, data_dir=bundle(), mode=mode)
    return bench, list(bench.requests(spec, chat=(mode == "generate"), seed=0))


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_gold_scores_one_and_wrong_scores_zero(name):
    bench, rows = items(name)
    assert len(rows) == COUNTS[name]
    assert bench.items == HUB_ITEMS.get(name, COUNTS[name])
    assert len({s.id for s, _, _ in rows}) == len(rows)
    for sample, request, mode in rows:
        assert mode == "generate" and request.kind == "generate"
        gold = bench.score(sample, Generation(texts=[gold_output(name, sample)]), mode)
        assert gold.values and all(_all(v, 1.0) for v in gold.values.values()), (sample.id, gold)
        wrong = bench.score(sample, Generation(texts=[wrong_output(name, sample)]), mode)
        assert all(_all(v, 0.0) for v in wrong.values.values()), (sample.id, wrong)


def _all(value, want: float) -> bool:
    """A value, or a list of observations pooled over the set (gaokao's sub-answer points), all equal to want."""
    return all(v == want for v in value) if isinstance(value, list) else value == want


@pytest.mark.parametrize("name", sorted(LOGLIKELIHOOD))
def test_loglikelihood_gold_choice_scores_one(name):
    bench, rows = items(name, "loglikelihood")
    assert len(rows) == COUNTS[name]
    for sample, request, mode in rows:
        assert mode == "loglikelihood" and len(request.continuations) == len(sample.choices) >= 2
        gold = int(sample.target)
        lls = [-1.0 - 1e5 * (i != gold) for i in range(len(sample.choices))]
        assert all(v == 1.0 for v in bench.score(sample, Generation(loglikelihoods=lls), mode).values.values())
        other = (gold + 1) % len(lls)
        lls = [-1.0 - 1e5 * (i != other) for i in range(len(sample.choices))]
        assert all(v == 0.0 for v in bench.score(sample, Generation(loglikelihoods=lls), mode).values.values())


def test_lambada_loglikelihood_is_lm_evals_greedy_check():
    bench, rows = items("lambada", "loglikelihood")
    assert len(rows) == 5153
    for sample, request, mode in rows[:200]:
        assert request.continuations == (" " + sample.target,) and " " not in sample.target
        assert bench.score(sample, Generation(loglikelihoods=[-2.0], is_greedy=[True]), mode).values == {"acc": 1.0}
        assert bench.score(sample, Generation(loglikelihoods=[-2.0], is_greedy=[False]), mode).values == {"acc": 0.0}


LL_REFERENCE = {"strategyqa": "- (generative only)", "agieval": "AGIEval convert_zero_shot", "cmrc": "- (generative only)",
                "drcd": "- (generative only)", "lcsts": "- (generative only)", "gaokao": "- (generative only)",
                **{n: "OpenCompass " for n in ("clue_afqmc", "cmnli", "ocnli", "c3", "bustm", "chid", "cluewsc",
                                               "eprstmt", "tnews", "ocnli_fc")}, "csl": "evalray: "}


def test_agieval_loglikelihood_mcq_and_generative_cloze():
    bench, rows = items("agieval", "loglikelihood")
    assert len(rows) == COUNTS["agieval"]
    kinds = {"loglikelihood": 0, "generate": 0}
    for sample, request, mode in rows:
        kinds[request.kind] += 1
        assert (request.kind == "generate") == (sample.metadata["kind"] == "cloze"), sample.id
        if request.kind == "loglikelihood":
            assert request.continuations == tuple(" " + c for c in sample.choices)
            golds = sample.metadata["golds"]
            lls = [-1.0 - 1e5 * (i != golds[-1]) for i in range(len(sample.choices))]
            if golds[-1] < len(lls):  # any correct option counts (lm-eval process_results_mcqa)
                assert bench.score(sample, Generation(loglikelihoods=lls), mode).values == {"acc": 1.0, "acc_norm": 1.0}
            wrong = next((i for i in range(len(lls)) if i not in golds), None)
            if wrong is None:  # every option is correct (a few JEC-QA items)
                continue
            lls = [-1.0 - 1e5 * (i != wrong) for i in range(len(sample.choices))]
            assert bench.score(sample, Generation(loglikelihoods=lls), mode).values == {"acc": 0.0, "acc_norm": 0.0}
    assert kinds == {"loglikelihood": 8268 - 1118, "generate": 1118}


def test_show_names_the_reference_of_each_form():
    for name in sorted(COUNTS):
        info = registry.get(name).info()
        assert info["loglikelihood"].startswith(LL_REFERENCE.get(name, "lm-eval ")), (name, info["loglikelihood"])
        assert info["generate"].startswith("OpenCompass "), (name, info["generate"])
        assert info["items"] and info["license"] and info["description"]


def test_race_reads_the_subsets_present_and_storycloze_both_languages():
    _, rows = items("race")
    assert {s.subset for s, _, _ in rows} == {"middle"}
    _, rows = items("storycloze")
    assert [sum(s.subset == lang for s, _, _ in rows) for lang in ("en", "zh")] == [1511, 1511]


# ---- sample ids from the raw bundle files (used by tests/data/test_benchmarks_ids.py for every registered name) -------
def _raw(folder: Path, path: str) -> list[dict]:
    with open(folder / path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _rows(n: int, prefix: str | None = None) -> list[str]:
    return [f"{prefix}/{i}" if prefix else str(i) for i in range(n)]


def _idx(path: str) -> Callable[[Path], list[str]]:
    return lambda d: [str(r["idx"]) for r in _raw(d, path)]


OPENCOMPASS_FOLDER = "opencompass/data"  # every benchmark below reads the bundle's root as its data_dir
OPENCOMPASS_IDS: dict[str, Callable[[Path], list[str]]] = {
    "obqa": lambda d: [r["id"] for r in _raw(d, "openbookqa/Main/test.jsonl")],
    "siqa": lambda d: _rows(len(_raw(d, "siqa/dev.jsonl"))),
    "race": lambda d: _rows(len(_raw(d, "race/test/middle.jsonl")), "middle"),
    "storycloze": lambda d: [f"{lang}/{r['story_id']}" for lang in ("en", "zh")
                             for r in _raw(d, f"xstory_cloze/{lang}_eval.jsonl")],
    "copa": _idx("SuperGLUE/COPA/val.jsonl"), "rte": _idx("SuperGLUE/RTE/val.jsonl"), "cb": _idx("SuperGLUE/CB/val.jsonl"),
    "wic": _idx("SuperGLUE/WiC/val.jsonl"), "wsc": _idx("SuperGLUE/WSC/val.jsonl"), "axb": _idx("SuperGLUE/AX-b/AX-b.jsonl"),
    "axg": _idx("SuperGLUE/AX-g/AX-g.jsonl"),
    "multirc": lambda d: [f"{p['idx']}/{q['idx']}/{a['idx']}" for p in _raw(d, "SuperGLUE/MultiRC/val.jsonl")
                          for q in p["passage"]["questions"] for a in q["answers"]],
    "lambada": lambda d: _rows(len(_raw(d, "lambada/test.jsonl"))),
    "strategyqa": lambda d: [r["qid"] for r in json.loads((d / "strategyqa" / "strategyQA_train.json").read_text(encoding="utf-8"))],
    "agieval": lambda d: [f"{p.stem}/{i}" for p in sorted((d / "AGIEval" / "data" / "v1").glob("*.jsonl"))
                          for i, r in enumerate(_raw(d, str(p.relative_to(d)))) if r["label"] or r["answer"]],
}
def _labelled(path: str) -> Callable[[Path], list[str]]:
    return lambda d: [str(i) for i, r in enumerate(_raw(d, path)) if r.get("label") != "-"]


def _squad(path: str) -> Callable[[Path], list[str]]:
    return lambda d: [qa["id"] for a in json.loads((d / path).read_text(encoding="utf-8"))["data"]
                      for p in a["paragraphs"] for qa in p["qas"]]


OPENCOMPASS_IDS.update({
    "clue_afqmc": _labelled("CLUE/AFQMC/dev.json"), "cmnli": _labelled("CLUE/cmnli/cmnli_public/dev.json"),
    "ocnli": _labelled("CLUE/OCNLI/dev.json"), "ocnli_fc": _labelled("FewCLUE/ocnli/test_public.json"),
    **{name: _labelled(f"FewCLUE/{name}/test_public.json") for name in ("bustm", "chid", "cluewsc", "csl", "eprstmt", "tnews")},
    "c3": lambda d: [f"{stem}/{i}" for stem in ("dev_0", "m-dev") for i in
                     range(sum(len(doc[1]) for doc in json.loads((d / "CLUE" / "C3" / f"{stem}.json").read_text(encoding="utf-8"))))],
    "cmrc": _squad("CLUE/CMRC/dev.json"), "drcd": _squad("CLUE/DRCD/dev.json"),
    "lcsts": lambda d: _rows(len((d / "LCSTS" / "test.tgt.txt").read_text(encoding="utf-8").splitlines())),
    "gaokao": lambda d: [f"{p.stem}/{i}" for p in (d / "GAOKAO-BENCH" / "data" / "Multiple-choice_Questions").glob("*.json")
                         for i in range(len(json.loads(p.read_text(encoding="utf-8"))["example"]))],
})
HUB_ONLY = {"record", "xsum", "summedits"}  # registered with their hub defaults only: no local copy in the bundle
