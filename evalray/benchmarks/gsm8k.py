"""GSM8K: grade-school math word problems; the final number of the answer is compared numerically."""

from __future__ import annotations

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
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
    source = Source("openai/gsm8k", "main", split=Split("test", ("test.jsonl",)), fewshot=Split("train", ("train.jsonl",)))
    license = "MIT"
    items = 1319
    metrics = ("exact_match",)
    default_few_shot = 0
    shuffle_fewshot = True

    def parse(self, record: dict) -> Sample:
        return self.sample(record["question"], target=extract.after_hashes(record["answer"]),
                           metadata={"solution": record["answer"]})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            messages = []
            for shot in shots:
                messages += [{"role": "user", "content": CHAT_TEMPLATE.format(question=shot.input)},
                             {"role": "assistant", "content": shot.metadata["solution"].replace("####", "ANSWER:")}]
            messages.append({"role": "user", "content": CHAT_TEMPLATE.format(question=sample.input)})
            return chat_request(messages, max_tokens=256)
        # lm-evaluation-harness gsm8k: "Question: ...\nAnswer:" with " <solution>" few-shot targets
        prefix = "".join(f"Question: {s.input}\nAnswer: {s.metadata['solution']}\n\n" for s in shots)
        return completion_request(f"{prefix}Question: {sample.input}\nAnswer:", max_tokens=256,
                                  stop=("Question:", "</s>", "<|im_end|>"))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = extract.last_number(generation.text)
        return Score(values={"exact_match": float(extract.numbers_equal(answer, sample.target))}, extracted=answer)
