"""GSM8K: grade-school math word problems; the final number of the answer is compared numerically."""

from __future__ import annotations

import json
from pathlib import Path

from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import extract
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = (
    "Solve the following math problem step by step. The last line of your response should be of the form "
    '"ANSWER: $ANSWER" (without quotes) where $ANSWER is the final number.\n\n{question}'
)


@register
class GSM8K(Benchmark):
    name = "gsm8k"
    description = "Grade-school math word problems (Cobbe et al., 2021); exact match on the final number."
    hub = HubSource("openai/gsm8k", "main", "test", fewshot_split="train")
    license = "MIT"
    items = 1319
    metrics = ("exact_match",)
    default_few_shot = 0
    shuffle_fewshot = True

    def _sample(self, index: int, row: dict) -> Sample:
        return Sample(id=str(index), benchmark=self.name, subset=None, input=row["question"],
                      target=extract.after_hashes(row["answer"]), metadata={"solution": row["answer"]})

    def read_local(self, data_dir: Path):
        with open(data_dir / "test.jsonl", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        return [self._sample(i, row) for i, row in enumerate(rows)]

    def read_hub(self):
        return [self._sample(i, row) for i, row in enumerate(hub_rows(self.hub))]

    def read_fewshot_local(self, data_dir: Path):
        with open(data_dir / "train.jsonl", encoding="utf-8") as f:
            return [self._sample(i, json.loads(line)) for i, line in enumerate(f) if line.strip()]

    def read_fewshot_hub(self):
        return [self._sample(i, row) for i, row in enumerate(hub_rows(self.hub, self.hub.fewshot_split))]

    def request(self, sample, mode, chat, shots, spec) -> Request:
        max_tokens = spec.max_tokens or 256
        if chat:
            messages = []
            for shot in shots:
                messages += [{"role": "user", "content": CHAT_TEMPLATE.format(question=shot.input)},
                             {"role": "assistant", "content": shot.metadata["solution"].replace("####", "ANSWER:")}]
            messages.append({"role": "user", "content": CHAT_TEMPLATE.format(question=sample.input)})
            return Request(kind="generate", messages=tuple(messages), max_tokens=max_tokens, repeats=spec.repeats)
        # lm-evaluation-harness gsm8k: "Question: ...\nAnswer:" with " <solution>" few-shot targets
        prefix = "".join(f"Question: {s.input}\nAnswer: {s.metadata['solution']}\n\n" for s in shots)
        return Request(kind="generate", prompt=f"{prefix}Question: {sample.input}\nAnswer:",
                       stop=("Question:", "</s>", "<|im_end|>"), max_tokens=max_tokens, repeats=spec.repeats)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = extract.last_number(generation.text)
        return Score(values={"exact_match": float(extract.numbers_equal(answer, sample.target))}, extracted=answer)
