"""GAOKAO-Bench objective questions (Zhang et al., 2023): the 14 multiple-choice files of Chinese college entrance
exams 2010-2022 (1,781 questions; single-answer, multi-answer, multi-question and five-out-of-seven sets) as subsets.
The fill-in-the-blank and open-ended files are subjective (OpenCompass scores them 0 without a judge): not included.

Generative, OpenCompass ``GaokaoBench_no_subjective_gen_4c31db``: the subset's ``prefix_prompt``
(``GaokaoBench_prompts.py``) + the question; the answers are read and scored as OpenCompass's GaokaoBenchEvaluator
does for each question type. ``score`` pools the points of every sub-answer over the set (OpenCompass's
``correct_score / total_score``; a multi-answer item is worth 2 points, 1 for a correct subset), ``acc`` counts the
items answered entirely right (its ``is_correct``).
"""

from __future__ import annotations

import re
from pathlib import Path

from evalray.benchmarks._io import read_json
from evalray.benchmarks.base import (
    Benchmark,
    Source,
    Split,
    chat_request,
    completion_request,
)
from evalray.benchmarks.registry import register
from evalray.types import Generation, Request, Sample, Score

_SINGLE = ("请你做一道{}选择题\n请你一步一步思考并将思考过程写在【解析】和<eoe>之间。你将从A，B，C，D中选出正确的答案，"
           "并写在【答案】和<eoa>之间。\n例如：【答案】: A <eoa>\n完整的题目回答的格式如下：\n【解析】 ... <eoe>\n【答案】 ... <eoa>\n"
           "请你严格按照上述格式作答。\n题目如下：")
_MULTI_Q = ("请你做一道{}。\n请你一步一步思考。每一题你将从A，B，C，D中选出正确的答案，并写在【答案】和<eoa>之间。\n"
            "例如：（1）【答案】 A <eoa>\n（2）【答案】 B <eoa>\n请你严格按照上述格式作答。\n")
# subset (file name) -> (question type, prefix_prompt), GaokaoBench_prompts.py MCQ_prompts verbatim
PROMPTS = {
    "2010-2022_Math_II_MCQs": ("single_choice", _SINGLE.format("数学")),
    "2010-2022_Math_I_MCQs": ("single_choice", _SINGLE.format("数学")),
    "2010-2022_History_MCQs": ("single_choice", _SINGLE.format("历史")),
    "2010-2022_Biology_MCQs": ("single_choice", _SINGLE.format("生物")),
    "2010-2022_Political_Science_MCQs": ("single_choice", _SINGLE.format("政治")),
    "2010-2022_Physics_MCQs": ("multi_choice", "请你做一道物理选择题。\n请你一步一步思考并将思考过程写在【解析】和<eoe>之间。你将从A，B，C，D中选出"
                               "所有符合题意的答案，并写在【答案】和<eoa>之间。\n例如：【答案】 AB <eoa>\n完整的题目回答的格式如下：\n【解析】 ... "
                               "<eoe>\n【答案】... <eoa>\n请你严格按照上述格式作答。\n"),
    "2010-2022_Chemistry_MCQs": ("single_choice", _SINGLE.format("化学")),
    "2010-2013_English_MCQs": ("single_choice", _SINGLE.format("英语")),
    "2010-2022_Chinese_Modern_Lit": ("multi_question_choice", _MULTI_Q.format("语文阅读理解题，其中包含三个小题")),
    "2010-2022_English_Fill_in_Blanks": ("multi_question_choice", _MULTI_Q.format("英语完形填空题,其中包含二十个小题")),
    "2012-2022_English_Cloze_Test": ("five_out_of_seven", "请回答下面的问题，将符合题意的五个选项的字母写在【答案】和<eoa>之间，例如“【答案】 A B C D E "
                                     "<eoa>\n请严格按照上述格式作答。\n"),
    "2010-2022_Geography_MCQs": ("multi_question_choice", _MULTI_Q.format("地理选择题，其中包含两到三个小题")),
    "2010-2022_English_Reading_Comp": ("multi_question_choice", _MULTI_Q.format("英语阅读理解题，其中包含三到五个小题")),
    "2010-2022_Chinese_Lang_and_Usage_MCQs": ("multi_question_choice", "请你做一道语文选择题\n请你一步一步思考并将思考过程写在【解析】和<eoe>之间。你将从"
                                              "A，B，C，D中选出正确的答案，并写在【答案】和<eoa>之间。\n例如：【答案】: A <eoa>\n完整的题目回答的格式如下：\n"
                                              "（1）【解析】 ... <eoe>\n【答案】 ... <eoa>\n（2）【解析】 ... <eoe>\n【答案】 ... <eoa>\n请你严格按照上述格式作答。"
                                              "如果不止一道题，请分别作答\n题目如下："),
}


def predictions(kind: str, output: str, n_answers: int) -> list[str]:
    """GaokaoBenchEvaluator.do_predictions_postprocess."""
    if kind == "single_choice":
        found = re.findall(r"[A-D]", output[::-1])
        return found[:1]
    if kind == "multi_question_choice":
        marked = re.findall(r"【答案】\s*[:：]*\s*[A-Z]", output)
        if len(marked) == n_answers:
            return [re.findall(r"[A-Z]", t)[0] for t in marked]
        return re.findall(r"[A-Z]", output)[:n_answers]
    if kind == "multi_choice":
        content = re.sub(r"\s+", "", output)
        index = content.find("【答案】")
        tail = content[index:] if index > 0 else content[-10:]
        answer = "".join(re.findall(r"[A-D]", tail))
        return [answer] if answer else []
    return re.findall(r"[A-G]", output)[:5]  # five_out_of_seven


def points(kind: str, pred: list[str], gold: list[str]) -> list[float]:
    """GaokaoBenchEvaluator.score per sub-answer, as a fraction of its points (ensure_same_length included)."""
    if len(pred) != len(gold):
        pred = ["Z"] * len(gold)
    if kind == "multi_choice":  # 2 points exact, 1 when every chosen letter is right
        return [1.0 if p == r else 0.5 if all(c in r for c in p) else 0.0 for p, r in zip(pred, gold)]
    return [float(p == r) for p, r in zip(pred, gold)]


@register
class GaokaoBench(Benchmark):
    name = "gaokao"
    description = ("GAOKAO-Bench objective questions: 14 multiple-choice sets of the 2010-2022 Chinese college "
                   "entrance exams (1,781 questions), OpenCompass's prompts and point scoring.")
    source = Source("opencompass/GAOKAO-BENCH", None, subsets=tuple(PROMPTS),  # ModelScope id: use data_dir
                    split=Split("test", ("GAOKAO-BENCH/data/Multiple-choice_Questions/{subset}.json",
                                         "data/Multiple-choice_Questions/{subset}.json",
                                         "Multiple-choice_Questions/{subset}.json")))
    license = "Apache-2.0 (GAOKAO-Bench)"
    items = 1781
    metrics = ("score", "acc")
    generate_reference = "OpenCompass GaokaoBench_no_subjective_gen_4c31db (GaokaoBenchEvaluator)"

    def read_file(self, path: Path) -> list[dict]:
        return list(read_json(path)["example"])

    def _groups(self, spec, split, subsets):  # parse needs the subset's question type
        return [(s, [{**r, "_subset": s} for r in rows]) for s, rows in super()._groups(spec, split, subsets)]

    def parse(self, r: dict) -> Sample:
        kind, prefix = PROMPTS[r["_subset"]]
        gold = [str(a) for a in r["answer"]]
        return self.sample(r["question"], target=" ".join(gold),
                           metadata={"kind": kind, "answers": gold, "prompt": prefix + r["question"]})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(sample.metadata["prompt"], max_tokens=1024)
        return completion_request(sample.metadata["prompt"], max_tokens=1024)  # OpenCompass max_out_len=1024

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        kind, gold = sample.metadata["kind"], sample.metadata["answers"]
        pred = predictions(kind, generation.text or "", len(gold))
        got = points(kind, pred, gold)
        return Score(values={"score": got, "acc": float(all(g == 1.0 for g in got))}, extracted=" ".join(pred) or None)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": "- (generative only)", "generate": self.generate_reference}
