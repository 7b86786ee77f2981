"""LAMBADA (Paperno et al., 2016; OpenAI's detokenised test set, 5,153 passages): predict a passage's last word.

Log-likelihood (base models), lm-evaluation-harness ``lambada/lambada_openai.yaml``: context = the text up to its last
space, continuation = ``" " + last word``; ``acc`` = the continuation is the greedy decode (lm-eval's ``is_greedy``).
lm-eval's corpus perplexity, ``exp(-mean log-likelihood)``, is not a per-sample mean, so evalray reports ``acc`` only;
the per-sample log-likelihoods are in the sample rows.

Generative (chat models, replay), OpenCompass ``lambada_gen_217e11``: ``Please complete the following sentence:\\n``
+ the passage; OpenCompass's LambadaEvaluator compares the first word of the answer (cut at punctuation, then
``general_postprocess``: articles and punctuation removed) with the gold word. An ``ANSWER: word`` line, where a chat
model writes one, is read first.
"""

from __future__ import annotations

import re
import string

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

PROMPT = "Please complete the following sentence:\n{prompt}"


def first_word(text: str) -> str:
    """LambadaEvaluator: the first word of the prediction, cut at the first punctuation mark."""
    word = text.strip().split(" ")[0]
    return re.split(f"[{re.escape(string.punctuation)}]", word)[0]


@register
class Lambada(Benchmark):
    name = "lambada"
    description = "LAMBADA (OpenAI test set, 5,153 passages): the last word of a passage."
    source = Source("EleutherAI/lambada_openai", "default",
                    split=Split("test", ("lambada/test.jsonl", "test.jsonl")))
    license = "MIT (EleutherAI/lambada_openai); LAMBADA: CC BY 4.0"
    items = 5153
    metrics = ("acc",)
    loglikelihood_reference = "lm-eval lambada/lambada_openai.yaml (acc = is_greedy; perplexity not aggregated)"
    generate_reference = "OpenCompass lambada_gen_217e11 (LambadaEvaluator)"

    def parse(self, record: dict) -> Sample:
        # the hub rows hold the whole text; the OpenCompass bundle splits it into prompt + label (the last word)
        text = record["text"] if "text" in record else record["prompt"] + " " + record["label"]
        words = text.split(" ")
        context, word = " ".join(words[:-1]), words[-1]
        return self.sample(context, target=word)

    def default_mode(self, chat: bool) -> str:
        return "generate" if chat else "loglikelihood"

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if mode == "loglikelihood":
            return Request(kind="loglikelihood", prompt=sample.input, continuations=(" " + sample.target,))
        text = PROMPT.format(prompt=sample.input)
        if chat:
            return chat_request(text, max_tokens=64)
        return completion_request(text, max_tokens=5)  # OpenCompass max_out_len=5

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        if mode == "loglikelihood":
            greedy = bool(generation.is_greedy and generation.is_greedy[0])
            return Score(values={"acc": float(greedy)}, extracted=sample.target if greedy else None)
        text = generation.text or ""
        marked = re.findall(r"ANSWER\s*[:：]\s*(.+)", text, re.IGNORECASE)
        word = first_word(marked[-1] if marked else text)
        return Score(values={"acc": float(general_postprocess(word) == general_postprocess(sample.target))}, extracted=word)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": self.loglikelihood_reference, "generate": self.generate_reference}
