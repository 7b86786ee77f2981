"""CLUE span-extraction reading comprehension, generative with OpenCompass's prompts: CMRC 2018 (simplified Chinese)
and DRCD (traditional Chinese) dev sets, SQuAD-style files (``data[].paragraphs[].context, qas[]``).

OpenCompass ``CLUE_CMRC_gen_1bd3c8`` / ``CLUE_DRCD_gen_1bd3c8``: ``根据文章回答问题。...请以 ‘答案是’ 开头的句式作答。``; the
answer is the text after ``答案是`` (``cmrc_postprocess``), scored by OpenCompass's ``EMEvaluator``: correct when the
answer after ``general_postprocess`` equals one of the gold answers, raw or postprocessed. An ``ANSWER:`` line, where
a chat model writes one, is read first.
"""

from __future__ import annotations

import re
from pathlib import Path

from evalray.benchmarks._io import read_json
from evalray.benchmarks._opencompass import general_postprocess
from evalray.benchmarks.base import (
    Benchmark,
    Source,
    Split,
    chat_request,
    completion_request,
)
from evalray.benchmarks.registry import register
from evalray.types import Generation, Request, Sample, Score

PROMPT = "根据文章回答问题。你的答案应该尽可能简练，请以 ‘答案是’ 开头的句式作答。\n文章：{context}\n问：{question}\n答："


def postprocess(text: str) -> str:
    """cmrc_postprocess / drcd_postprocess, after an evalray ``ANSWER:`` marker where there is one."""
    marked = re.findall(r"ANSWER\s*[:：]\s*(.+)", text or "")
    if marked:
        return marked[-1].strip()
    return text.split("答案是")[1] if "答案是" in (text or "") else (text or "")


def exact_match(prediction: str, answers: list[str]) -> bool:
    """OpenCompass EMEvaluator."""
    pred = general_postprocess(prediction)
    return pred in answers or pred in [general_postprocess(a) for a in answers]


class _MRC(Benchmark):
    metrics = ("exact_match",)
    license = "CC BY-SA 4.0"

    def read_file(self, path: Path) -> list[dict]:
        """SQuAD layout -> one row per question, as the hub's: id, context, question, answers {text}."""
        return [{"id": qa["id"], "context": p["context"], "question": qa["question"],
                 "answers": {"text": [a["text"] for a in qa["answers"]]}}
                for article in read_json(path)["data"] for p in article["paragraphs"] for qa in p["qas"]]

    def parse(self, r: dict) -> Sample:
        answers = list(dict.fromkeys(r["answers"]["text"]))  # OpenCompass: the distinct answer texts
        return self.sample(r["question"], target=answers[0], metadata={"context": r["context"], "answers": answers})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        text = PROMPT.format(context=sample.metadata["context"], question=sample.input)
        if chat:
            return chat_request(text, max_tokens=128)
        return completion_request(text, max_tokens=64, stop=("\n",))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = postprocess(generation.text)
        return Score(values={"exact_match": float(exact_match(answer, sample.metadata["answers"]))}, extracted=answer)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": "- (generative only)", "generate": self.generate_reference}


@register
class CMRC(_MRC):
    name = "cmrc"
    description = "CMRC 2018 dev (Cui et al., 2019): 3,219 questions over 848 Chinese Wikipedia passages, exact match."
    source = Source("clue/clue", "cmrc2018", id_field="id",
                    split=Split("validation", ("CLUE/CMRC/dev.json", "CMRC/dev.json", "dev.json")))
    items = 3219
    generate_reference = "OpenCompass CLUE_CMRC_gen_1bd3c8 (EMEvaluator)"


@register
class DRCD(_MRC):
    name = "drcd"
    description = "DRCD dev (Shao et al., 2018): 3,524 questions over traditional-Chinese Wikipedia passages, exact match."
    source = Source("clue/clue", "drcd", id_field="id",
                    split=Split("validation", ("CLUE/DRCD/dev.json", "DRCD/dev.json", "dev.json")))
    items = 3524
    generate_reference = "OpenCompass CLUE_DRCD_gen_1bd3c8 (EMEvaluator)"
