"""AGIEval v1 (Zhong et al., 2023): 21 human-exam subsets (gaokao, LSAT, SAT, LogiQA, JEC-QA, AQuA-RAT, MATH) as
subsets; 19 are multiple choice (3 of them with several correct options), 2 are cloze (gaokao-mathcloze, math).

Log-likelihood (MCQ subsets): AGIEval's own zero-shot query (``dataset_loader.convert_zero_shot``, as vendored by
OpenCompass; it is how the ``query`` of lm-eval's ``hails/agieval-*`` documents was made), the option strings
``(A)...`` as continuations; ``acc``/``acc_norm`` count the argmax as right when it is any correct option (lm-eval
``agieval/utils.py`` ``process_results_mcqa``). Cloze subsets are always generative.

Generative: OpenCompass ``agieval_gen_5c79b4``: the subset's one-line intro, ``{passage}{question}``, the options one
per line and the hint (``答案是： `` / ``The answer is ``). Single-answer sets: the first option letter
(``first_option_postprocess``); multi-answer sets: the letters as one string (``first_capital_postprocess_multi``,
after an ``ANSWER:`` marker where there is one); cloze: the answer in ``\\boxed{}``, after ``ANSWER:`` or after the
hint, equal to the gold after removing ``$`` and spaces, or equivalent by ``math-verify`` (evalray's math scorer, in
place of AGIEval's hand-written ``is_equiv``).
"""

from __future__ import annotations

import re
from typing import Any

from evalray.benchmarks._opencompass import ChoiceTask, option_letter
from evalray.benchmarks.base import (
    LETTERS,
    Source,
    Split,
    chat_request,
    completion_request,
    hub_rows,
)
from evalray.benchmarks.registry import register
from evalray.errors import ConfigError
from evalray.scoring import extract, math_equiv
from evalray.types import Generation, Request, Sample, Score

SINGLE = ("gaokao-chinese", "gaokao-english", "gaokao-geography", "gaokao-history", "gaokao-biology",
          "gaokao-chemistry", "gaokao-mathqa", "logiqa-zh", "lsat-ar", "lsat-lr", "lsat-rc", "logiqa-en", "sat-math",
          "sat-en", "sat-en-without-passage", "aqua-rat")
MULTI = ("gaokao-physics", "jec-qa-kd", "jec-qa-ca")
CLOZE = ("gaokao-mathcloze", "math")
CHINESE = {"gaokao-chinese", "gaokao-english", "gaokao-geography", "gaokao-history", "gaokao-biology",
           "gaokao-chemistry", "gaokao-physics", "gaokao-mathqa", "logiqa-zh", "gaokao-mathcloze", "jec-qa-kd",
           "jec-qa-ca"}  # OpenCompass's hint language (its agieval_chinese_sets, plus the JEC-QA law exams)
ENGLISH_QUERY = {"lsat-ar", "lsat-lr", "lsat-rc", "logiqa-en", "sat-math", "sat-en", "aqua-rat",
                 "sat-en-without-passage", "gaokao-english"}  # AGIEval's english_qa_datasets
_ZH_EXAM = "以下是一道中国高考{}选择题，请选择正确的答案。"
_EN = "The following is a {} question. Please select the correct answer."
INTRO = {
    "gaokao-chinese": _ZH_EXAM.format("语文"), "gaokao-english": _ZH_EXAM.format("英语"),
    "gaokao-geography": _ZH_EXAM.format("地理"), "gaokao-history": _ZH_EXAM.format("历史"),
    "gaokao-biology": _ZH_EXAM.format("生物"), "gaokao-chemistry": _ZH_EXAM.format("化学"),
    "gaokao-physics": _ZH_EXAM.format("物理"), "gaokao-mathqa": _ZH_EXAM.format("数学"),
    "logiqa-zh": "以下是一道中国公务员考试题，请选择正确的答案。",
    "lsat-ar": _EN.format("LSAT Analytical Reasoning"), "lsat-lr": _EN.format("LSAT Logical Reasoning"),
    "lsat-rc": _EN.format("LSAT Reading Comprehension"), "logiqa-en": _EN.format("Logic Reasoning"),
    "sat-math": _EN.format("SAT Math"), "sat-en": _EN.format("SAT English"),
    "sat-en-without-passage": _EN.format("SAT English"), "aqua-rat": _EN.format("AQUA-RAT"),
    "jec-qa-kd": "以下是一道中国司法考试基础知识题，请选择正确的答案。",
    "jec-qa-ca": "以下是一道中国司法考试案例分析题，请选择正确的答案。",
    "gaokao-mathcloze": "以下是一道中国高考数学填空题，请填入正确的答案。",
    "math": "The following is a Math question. Please give the correct answer.",
}
SUBSETS = tuple(sorted(SINGLE + MULTI + CLOZE))


def zero_shot_query(r: dict, subset: str) -> str:
    """AGIEval dataset_loader.convert_zero_shot."""
    passage = r["passage"] or ""
    if subset in CLOZE:
        if subset == "math":
            return passage + "Q: " + r["question"] + "\nA: The answer is"
        return passage + "问题：" + r["question"] + "\n答案："
    count = len(r["options"])
    if subset in ENGLISH_QUERY:
        return (passage + "Q: " + r["question"] + " Answer Choices: " + " ".join(r["options"]) + "\n"
                + f"A: Among A through {'ABCDEFG'[(count if count != 1 else 5) - 1]}, the answer is")
    return (passage + "问题：" + r["question"] + " 选项：" + " ".join(r["options"]) + "\n"
            + f"答案：从A到{'ABCDEFG'[(count if count != 1 else 4) - 1]}, 我们应选择")


def _norm(text: str) -> str:
    return re.sub(r"[\s$]", "", text or "")


def cloze_answer(text: str) -> str:
    boxed = extract.last_boxed(text or "")
    if boxed is not None:
        return boxed
    marked = re.findall(r"(?:ANSWER\s*[:：]|answer is|答案是\s*[:：]?)\s*(.+)", text or "", re.IGNORECASE)
    return (marked[-1] if marked else (text or "").strip().split("\n")[-1] if text else "").strip().rstrip(".。")


@register
class AGIEval(ChoiceTask):
    name = "agieval"
    description = ("AGIEval v1: 21 exam subsets (19 multiple choice, 3 of them multi-answer; 2 cloze: gaokao-mathcloze, "
                   "math), 8,268 questions (the v1 files' 8,269 less one without a gold answer); zero-shot.")
    source = Source("hails/agieval-{subset}", None, subsets=SUBSETS, id_field="_id",
                    split=Split("test", ("AGIEval/data/v1/{subset}.jsonl", "data/v1/{subset}.jsonl", "v1/{subset}.jsonl")))
    license = "MIT (AGIEval); per-source terms in data/v1/LICENSE"
    items = 8268
    metrics = ("acc", "acc_norm")
    loglikelihood_reference = ("AGIEval convert_zero_shot query (the query of lm-eval agieval/*.yaml's hails docs), "
                               "MCQ subsets; cloze subsets generative")
    generate_reference = "OpenCompass agieval_gen_5c79b4"

    def _groups(self, spec, split, subsets):
        """The hub copy is one dataset per subset (``hails/agieval-<subset>``, lm-eval's documents)."""
        if spec.data_dir:
            groups = super()._groups(spec, split, subsets)
        else:
            try:
                groups = [(s, hub_rows(f"hails/agieval-{s}", None, split.hub)) for s in subsets]
            except Exception as exc:  # offline, missing dataset, hub error
                raise ConfigError(f"benchmark {self.name}: could not load hails/agieval-* from the hub "
                                  f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}); "
                                  "set data_dir to a local copy") from None
        # parse needs the subset; ids are "<subset>/<line>" in file order, kept stable when an item without any gold
        # answer is left out (jec-qa-kd line 212 of v1 has neither label nor answer: no score is possible)
        return [(s, [{**r, "_subset": s, "_id": f"{s}/{i}"} for i, r in enumerate(rows)
                     if r.get("label") or r.get("answer") or r.get("gold")]) for s, rows in groups]

    def parse(self, r: dict) -> Sample:
        subset = r["_subset"]
        hint = "答案是： " if subset in CHINESE else "The answer is "
        if "query" in r:  # the hub's (lm-eval's) documents: the zero-shot query, choices, gold indices / answer
            return self._parse_hub(r, subset, hint)
        question = (r["passage"] or "") + r["question"]
        if subset in CLOZE:
            prompt = f"{INTRO[subset]}\n{question}\n{hint}"
            return self.sample(zero_shot_query(r, subset), target=str(r["answer"]), metadata={"prompt": prompt, "kind": "cloze"})
        options = list(r["options"])
        label = r["label"] if r["label"] else r["answer"]
        # a few gaokao-mathqa golds name several letters ("A B D"): scored as multi-answer items
        letters = "".join(c for c in ("".join(label) if isinstance(label, list) else str(label)) if c in LETTERS)
        golds = [LETTERS.index(c) for c in letters]
        prompt = f"{INTRO[subset]}\n{question}\n" + "\n".join(options) + f"\n{hint}"
        # n_options 5: OpenCompass extracts the letter among ABCDE on every single-answer set (a few golds name a
        # letter past the listed options, e.g. sat-en line 57: gold D of three options)
        return self.choice_sample(zero_shot_query(r, subset), options, golds[0], prompt, golds=golds, letters=letters,
                                  kind="multi" if subset in MULTI or len(golds) > 1 else "single", n_options=5)

    def _parse_hub(self, r: dict, subset: str, hint: str) -> Sample:
        prompt = f"{INTRO[subset]}\n{r['query']}\n{hint}"
        if subset in CLOZE:
            return self.sample(r["query"], target=str(r["answer"]), metadata={"prompt": prompt, "kind": "cloze"})
        golds = [int(g) for g in r["gold"]]
        return self.choice_sample(r["query"], list(r["choices"]), golds[0], prompt, golds=golds,
                                  letters="".join(LETTERS[g] for g in golds),
                                  kind="multi" if subset in MULTI or len(golds) > 1 else "single")

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if sample.metadata["kind"] == "cloze" or mode == "generate":
            text = sample.metadata["prompt"]
            if chat:
                return chat_request(text, max_tokens=1024)
            return completion_request(text, max_tokens=1024)  # OpenCompass max_out_len=1024
        return super().request(sample, mode, chat, shots, spec)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        kind, text = sample.metadata["kind"], generation.text or ""
        if kind == "cloze":
            answer = cloze_answer(text)
            ok = _norm(answer) == _norm(sample.target) or (bool(answer) and math_equiv.is_equiv(sample.target, f"$\\boxed{{{answer}}}$")[0])
            return Score(values={"acc": float(ok)}, extracted=answer or None)
        golds = sample.metadata["golds"]
        if mode == "loglikelihood":
            lls, lengths = generation.loglikelihoods, [len(c) for c in self.continuations(sample)]
            if not lls:
                return Score(values={"acc": 0.0, "acc_norm": 0.0})
            best = max(range(len(lls)), key=lambda i: lls[i])
            normed = max(range(len(lls)), key=lambda i: lls[i] / max(1, lengths[i]))
            return Score(values={"acc": float(best in golds), "acc_norm": float(normed in golds)}, extracted=LETTERS[best])
        if kind == "multi":
            marked = re.findall(r"ANSWER\s*[:：]\s*([A-D]+)", text)
            found = re.search(r"([A-D]+)", text)  # first_capital_postprocess_multi
            answer = marked[-1] if marked else found.group(1) if found else ""
            return Score(values={"acc": float(answer == sample.metadata["letters"])}, extracted=answer or None)
        letter = option_letter(text, sample.metadata["n_options"])  # first_option_postprocess (ABCDE)
        return Score(values={"acc": float(letter == sample.metadata["letters"])}, extracted=letter)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "metrics_by_form": "loglikelihood: acc, acc_norm (MCQ); generate: acc"}
