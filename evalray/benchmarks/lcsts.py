"""LCSTS (Hu et al., 2015): Chinese short-text summarisation of Weibo news posts, test set (10,666 pairs in the
OpenCompass bundle: ``LCSTS/test.src.txt`` + ``test.tgt.txt``, aligned lines).

Generative, OpenCompass ``lcsts_gen_8ee1fe``: ``阅读以下文章，并给出简短的摘要：{content}\\n摘要如下：``; the summary is
OpenCompass's ``lcsts_postprocess`` (first line, list markers and surrounding ``“，。！”`` stripped). ROUGE-1/2/L F1
through Google's maintained ``rouge-score`` on **characters**: its default tokenizer keeps only ``[a-z0-9]`` and would
score every Chinese summary 0, so every non-space character is a token (lower-cased), after removing punctuation
(``[^\\w\\s]``, as OpenCompass's ``general_postprocess`` does, without its cut at the first ``.``/``,``, which would
keep only "84" of "84.7%受访者..."). OpenCompass's JiebaRougeEvaluator segments words with jieba and uses the ``rouge``
package instead; character ROUGE is the measure of the LCSTS paper itself and needs no segmenter, so evalray's scores
are not numerically comparable with OpenCompass's word-level figures. The per-sample F1 is averaged, as
``Rouge().get_scores(avg=True)`` does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from evalray.benchmarks.base import (
    Benchmark,
    Source,
    Split,
    chat_request,
    completion_request,
)
from evalray.benchmarks.registry import register
from evalray.errors import ConfigError
from evalray.types import Generation, Request, Sample, Score

PROMPT = "阅读以下文章，并给出简短的摘要：{content}\n摘要如下："
ROUGE = ("rouge1", "rouge2", "rougeL")


def lcsts_postprocess(text: str) -> str:
    """opencompass.datasets.lcsts.lcsts_postprocess."""
    text = text.strip().split("\n")[0].replace("своей", "").strip()
    text = text.replace("1. ", "") if text.startswith("1. ") else text
    text = text.replace("- ", "") if text.startswith("- ") else text
    return text.strip("“，。！”")


class CharTokenizer:
    """rouge-score tokenizer: one token per character, punctuation and spaces dropped, lower-cased."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in re.sub(r"[^\w]", "", (text or "").lower())]


@lru_cache(maxsize=1)
def _scorer():
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        raise ConfigError("benchmark lcsts needs the rouge-score package (pip install rouge-score)") from None
    return rouge_scorer.RougeScorer(list(ROUGE), tokenizer=CharTokenizer())


def chinese_rouge(prediction: str, reference: str) -> dict[str, float]:
    scores = _scorer().score(reference, prediction)
    return {name: float(scores[name].fmeasure) for name in ROUGE}


@register
class LCSTS(Benchmark):
    name = "lcsts"
    description = "LCSTS test (10,666 Weibo posts): a short Chinese summary; character-level ROUGE-1/2/L F1."
    source = Source("opencompass/LCSTS", None,  # OpenCompass's ModelScope id; not on the Hugging Face hub: use data_dir
                    split=Split("test", ("LCSTS/test.src.txt", "test.src.txt")))
    license = "LCSTS: research use under its application agreement (upstream, unverified)"
    items = 10666
    metrics = ROUGE
    generate_reference = "OpenCompass lcsts_gen_8ee1fe (lcsts_postprocess; character ROUGE instead of jieba words)"

    def read_file(self, path: Path) -> list[dict]:
        """``<split>.src.txt`` and the aligned ``<split>.tgt.txt`` beside it."""
        target = path.with_name(path.name.replace(".src.", ".tgt."))
        if not target.is_file():
            raise FileNotFoundError(2, "no such file", str(target))
        sources = path.read_text(encoding="utf-8").splitlines()
        targets = target.read_text(encoding="utf-8").splitlines()
        return [{"content": s.strip(), "abst": t.strip()} for s, t in zip(sources, targets, strict=True)]

    def parse(self, record: dict) -> Sample:
        return self.sample(record["content"], target=record["abst"])

    def request(self, sample, mode, chat, shots, spec) -> Request:
        text = PROMPT.format(content=sample.input)
        if chat:
            return chat_request(text, max_tokens=128)
        return completion_request(text, max_tokens=64, stop=("\n",))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        summary = lcsts_postprocess(generation.text or "")
        return Score(values=chinese_rouge(summary, sample.target), extracted=summary)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": "- (generative only)", "generate": self.generate_reference}
