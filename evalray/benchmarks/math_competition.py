"""MATH (Hendrycks et al., 2021): competition problems in seven subjects, answer in ``\\boxed{}``; equivalence by the
``math-verify`` library. ``math`` is the 5,000-problem test set, ``math500`` the 500-problem subset of Lightman et
al. (2023), whose samples keep the dataset's ``unique_id`` (``test/algebra/1004.json``)."""

from __future__ import annotations

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
from evalray.benchmarks.registry import register
from evalray.scoring import extract, math_equiv
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = "Solve the following math problem step by step. Put your final answer within \\boxed{{}}.\n\n{problem}"
SUBJECTS = ("Algebra", "Counting & Probability", "Geometry", "Intermediate Algebra", "Number Theory", "Prealgebra", "Precalculus")


def subject_key(name: str) -> str:
    return name.lower().replace("&", "and").replace(" ", "_")


class _Math(Benchmark):
    metrics = ("exact_match",)
    license = "MIT"

    def parse(self, record: dict) -> Sample:
        answer = record.get("answer") or extract.last_boxed(record["solution"]) or ""
        return self.sample(record["problem"], target=answer, subset=subject_key(record.get("subject") or record["type"]),
                           metadata={"level": str(record.get("level", ""))})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(CHAT_TEMPLATE.format(problem=sample.input), max_tokens=1024)
        # Minerva / lm-evaluation-harness minerva_math layout
        return completion_request(f"Problem:\n{sample.input}\n\nSolution:", max_tokens=1024,
                                  stop=("Problem:", "</s>", "<|im_end|>"))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        ok, extracted = math_equiv.is_equiv(sample.target, generation.text)
        return Score(values={"exact_match": float(ok)}, extracted=extracted)


@register
class Math(_Math):
    name = "math"
    description = "MATH test set (5,000 problems, 7 subjects); boxed answer, math-verify equivalence."
    # one hub config per subject; the local copy is one file (its 'idx' column was added by the mirror: row ids)
    source = Source("EleutherAI/hendrycks_math", "{subset}", split=Split("test", ("math/test.jsonl", "test.jsonl")),
                    subsets=tuple(sorted(subject_key(s) for s in SUBJECTS)))
    items = 5000


@register
class Math500(_Math):
    name = "math500"
    description = "MATH-500: the 500-problem test subset of 'Let's Verify Step by Step'; math-verify equivalence."
    source = Source("HuggingFaceH4/MATH-500", None, split=Split("test", ("math_oai/test.jsonl", "test.jsonl")),
                    id_field="unique_id")
    items = 500

    def info(self):
        return {**super().info(), "subsets": sorted(subject_key(s) for s in SUBJECTS)}
