"""Open-domain QA with short answers: TriviaQA and NQ-open (lm-evaluation-harness prompts, greedy answer up to the
first newline, period or comma); exact match and token F1 after SQuAD normalisation, best over all gold aliases."""

from __future__ import annotations

import re

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
from evalray.benchmarks.registry import register
from evalray.scoring import text_norm
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = ("Answer the question with a short answer (a few words, no explanation). Write the answer on the last "
                 "line as 'ANSWER: <answer>'.\n\nQuestion: {question}")


class _OpenQA(Benchmark):
    metrics = ("exact_match", "f1")
    shuffle_fewshot = True
    template = "Question: {question}?\nAnswer:"

    def qa_sample(self, question: str, aliases: list[str]) -> Sample:
        return self.sample(question.strip().rstrip("?"), target=aliases[0] if aliases else "", metadata={"aliases": list(aliases)})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(CHAT_TEMPLATE.format(question=sample.input + "?"), max_tokens=64)
        prefix = "".join(self.template.format(question=s.input) + f" {s.target}\n\n" for s in shots)
        return completion_request(prefix + self.template.format(question=sample.input), max_tokens=32, stop=("\n", ".", ","))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        text = generation.text or ""
        marked = re.findall(r"ANSWER\s*[:：]\s*(.+)", text, re.IGNORECASE)
        answer = marked[-1] if marked else text.strip().split("\n")[0]
        answer = answer.strip()
        aliases = sample.metadata["aliases"]
        return Score(values={"exact_match": text_norm.exact_match(answer, aliases), "f1": text_norm.max_f1(answer, aliases)},
                     extracted=answer)


@register
class TriviaQA(_OpenQA):
    name = "triviaqa"
    description = "TriviaQA (rc.nocontext, validation: 17,944 questions; the local copy is a 3,000-question subset)."
    source = Source(
        "mandarjoshi/trivia_qa", "rc.nocontext", id_field="question_id",  # the MosaicML subset has no id: row ids
        split=Split("validation", ("scripts/eval/local_data/world_knowledge/triviaqa_sm_sub.jsonl", "triviaqa_sm_sub.jsonl")),
        fewshot=Split("train"),  # hub only
    )
    license = "Apache-2.0"
    items = 17944

    def parse(self, record: dict) -> Sample:
        if "context" in record:  # MosaicML ICL layout: context "Question: ...?\nAnswer:", answer, aliases
            question = re.sub(r"^Question:\s*|\s*Answer:\s*$", "", record["context"].strip()).strip()
            return self.qa_sample(question, [record["answer"], *[a for a in record["aliases"] if a != record["answer"]]])
        answer = record["answer"]
        return self.qa_sample(record["question"], [answer["value"], *answer["aliases"]])


@register
class NQOpen(_OpenQA):
    name = "nq_open"
    description = "Natural Questions open-domain (Lee et al., 2019), dev split: 3,610 questions with answer lists."
    source = Source(
        "google-research-datasets/nq_open", None,
        split=Split("validation", ("nq_open/NQ-open.dev.jsonl", "NQ-open.dev.jsonl")),
        fewshot=Split("train", ("nq_open/NQ-open.train.jsonl", "NQ-open.train.jsonl")),
    )
    license = "CC BY-SA 3.0"
    items = 3610
    template = "Q: {question}?\nA:"

    def parse(self, record: dict) -> Sample:
        return self.qa_sample(record["question"], list(record["answer"]))
