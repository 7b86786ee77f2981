"""Open-domain QA with short answers: TriviaQA and NQ-open (lm-evaluation-harness prompts, greedy answer up to the
first newline, period or comma); exact match and token F1 after SQuAD normalisation, best over all gold aliases."""

from __future__ import annotations

import re
from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import text_norm
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = ("Answer the question with a short answer (a few words, no explanation). Write the answer on the last "
                 "line as 'ANSWER: <answer>'.\n\nQuestion: {question}")


class _OpenQA(Benchmark):
    metrics = ("exact_match", "f1")
    shuffle_fewshot = True
    template = "Question: {question}?\nAnswer:"

    def _sample(self, index: int, question: str, aliases: list[str]) -> Sample:
        return Sample(id=str(index), benchmark=self.name, subset=None, input=question.strip().rstrip("?"),
                      target=aliases[0] if aliases else "", metadata={"aliases": list(aliases)})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return Request(kind="generate", messages=({"role": "user", "content": CHAT_TEMPLATE.format(question=sample.input + "?")},),
                           max_tokens=spec.max_tokens or 64, repeats=spec.repeats)
        prefix = "".join(self.template.format(question=s.input) + f" {s.target}\n\n" for s in shots)
        return Request(kind="generate", prompt=prefix + self.template.format(question=sample.input), stop=("\n", ".", ","),
                       max_tokens=spec.max_tokens or 32, repeats=spec.repeats)

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
    hub = HubSource("mandarjoshi/trivia_qa", "rc.nocontext", "validation", fewshot_split="train")
    license = "Apache-2.0"
    items = 17944

    def _row(self, index: int, row: dict) -> Sample:
        if "context" in row:  # MosaicML ICL layout: context "Question: ...?\nAnswer:", answer, aliases
            question = re.sub(r"^Question:\s*|\s*Answer:\s*$", "", row["context"].strip()).strip()
            aliases = [row["answer"], *[a for a in row["aliases"] if a != row["answer"]]]
            return self._sample(index, question, aliases)
        answer = row["answer"]
        return self._sample(index, row["question"], [answer["value"], *answer["aliases"]])

    def read_local(self, data_dir: Path):
        path = find(data_dir, "scripts/eval/local_data/world_knowledge/triviaqa_sm_sub.jsonl", "triviaqa_sm_sub.jsonl")
        return [self._row(i, r) for i, r in enumerate(read_jsonl(path))]

    def read_hub(self):
        return [self._row(i, r) for i, r in enumerate(hub_rows(self.hub))]

    def read_fewshot_hub(self):
        return [self._row(i, r) for i, r in enumerate(hub_rows(self.hub, "train"))]


@register
class NQOpen(_OpenQA):
    name = "nq_open"
    description = "Natural Questions open-domain (Lee et al., 2019), dev split: 3,610 questions with answer lists."
    hub = HubSource("google-research-datasets/nq_open", None, "validation", fewshot_split="train")
    license = "CC BY-SA 3.0"
    items = 3610
    template = "Q: {question}?\nA:"

    def read_local(self, data_dir: Path):
        rows = read_jsonl(find(data_dir, "nq_open/NQ-open.dev.jsonl", "NQ-open.dev.jsonl"))
        return [self._sample(i, r["question"], list(r["answer"])) for i, r in enumerate(rows)]

    def read_fewshot_local(self, data_dir: Path):
        rows = read_jsonl(find(data_dir, "nq_open/NQ-open.train.jsonl", "NQ-open.train.jsonl"))
        return [self._sample(i, r["question"], list(r["answer"])) for i, r in enumerate(rows)]

    def read_hub(self):
        return [self._sample(i, r["question"], list(r["answer"])) for i, r in enumerate(hub_rows(self.hub))]

    def read_fewshot_hub(self):
        return [self._sample(i, r["question"], list(r["answer"])) for i, r in enumerate(hub_rows(self.hub, "train"))]
