"""StrategyQA (Geva et al., 2021): yes/no questions that need implicit multi-step reasoning, generative with
OpenCompass's ``strategyqa_gen_1180a7``: six chain-of-thought exemplars (``... So the answer is yes``), then
``Question: {question}\\nAnswer:``; the answer is OpenCompass's ``strategyqa_pred_postprocess`` (first paragraph, the
text after the last ``answer is ``, its first yes/no). OpenCompass scores the 2,290-question train file (the test
split has no public answers); so does evalray."""

from __future__ import annotations

import re

from evalray.benchmarks.base import (
    Benchmark,
    Source,
    Split,
    chat_request,
    completion_request,
)
from evalray.benchmarks.registry import register
from evalray.types import Generation, Request, Sample, Score

# (question, chain of thought + answer) exemplars of strategyqa_gen_1180a7, verbatim
EXEMPLARS = (
    ("Do hamsters provide food for any animals?",
     "Hamsters are prey animals. Prey are food for predators. Thus, hamsters provide food for some animals.\n"
     "So the answer is yes\n"),
    ("Could Brooke Shields succeed at University of Pennsylvania?",
     "Brooke Shields went to Princeton University. Princeton University is about as academically rigorous as the "
     "University of Pennsylvania. Thus, Brooke Shields could also succeed at the University of Pennsylvania.\n"
     "So the answer is yes\n"),
    ("Hydrogen's atomic number squared exceeds number of Spice Girls?",
     "Hydrogen has an atomic number of 1. 1 squared is 1. There are 5 Spice Girls. Thus, Hydrogen's atomic number "
     "squared is less than 5.\nSo the answer is no\n"),
    ("Is it common to see frost during some college commencements?",
     "College commencement ceremonies can happen in December, May, and June. December is in the winter, so there can "
     "be frost. Thus, there could be frost at some commencements.\nSo the answer is yes\n"),
    ("Yes or no: Could a llama birth twice during War in Vietnam (1945-46)?",
     "The War in Vietnam was 6 months. The gestation period for a llama is 11 months, which is more than 6 months. "
     "Thus, a llama could not give birth twice during the War in Vietnam.\nSo the answer is no\n"),
    ("Would a pear sink in water?",
     "The density of a pear is about 0.6g/cm3, which is less than water. Objects less dense than water float. Thus, "
     "a pear would float.\nSo the answer is no\n"),
)
TURN = "Question: {question}\nAnswer:"


def pred_postprocess(text: str) -> str:
    """opencompass.datasets.strategyqa.strategyqa_pred_postprocess."""
    text = text.split("\n\n")[0]
    text = text.split("answer is ")[-1]
    match = re.search(r"(yes|no)", text.lower())
    return match.group(1) if match else ""


@register
class StrategyQA(Benchmark):
    name = "strategyqa"
    description = ("StrategyQA: implicit multi-step yes/no questions (2,290, the train file OpenCompass scores); "
                   "6-shot chain of thought, accuracy of the final yes/no.")
    source = Source("wics/strategy-qa", None, id_field="qid",
                    split=Split("test", ("strategyqa/strategyQA_train.json", "strategyQA_train.json")))
    license = "MIT"
    items = 2290
    metrics = ("acc",)
    generate_reference = "OpenCompass strategyqa_gen_1180a7 (strategyqa_pred_postprocess)"

    def parse(self, record: dict) -> Sample:
        answer = record["answer"]
        yes = answer if isinstance(answer, bool) else str(answer).strip().lower() in ("true", "yes")
        return self.sample(record["question"], target="yes" if yes else "no")

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            messages = []
            for question, answer in EXEMPLARS:
                messages += [{"role": "user", "content": TURN.format(question=question)},
                             {"role": "assistant", "content": answer}]
            messages.append({"role": "user", "content": TURN.format(question=sample.input)})
            return chat_request(messages, max_tokens=512)
        # a completion model reads the rounds one after the other, each exemplar answer on its own lines
        prefix = "".join(TURN.format(question=q) + " " + a + "\n" for q, a in EXEMPLARS)
        return completion_request(prefix + TURN.format(question=sample.input), max_tokens=512, stop=("\n\n", "Question:"))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = pred_postprocess(generation.text or "")
        return Score(values={"acc": float(answer == sample.target)}, extracted=answer or None)

    def info(self) -> dict:
        return {**super().info(), "loglikelihood": "- (generative only)", "generate": self.generate_reference}
