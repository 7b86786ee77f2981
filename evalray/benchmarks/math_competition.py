"""MATH (Hendrycks et al., 2021): competition problems in seven subjects, answer in ``\\boxed{}``; equivalence by the
``math-verify`` library. ``math`` is the 5,000-problem test set, ``math500`` the 500-problem subset of Lightman et
al. (2023)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import extract, math_equiv
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = "Solve the following math problem step by step. Put your final answer within \\boxed{{}}.\n\n{problem}"


def subject_key(name: str) -> str:
    return name.lower().replace("&", "and").replace(" ", "_")


class _Math(Benchmark):
    metrics = ("exact_match",)
    license = "MIT"
    local_path = ""

    def _sample(self, index: int, row: dict) -> Sample:
        subject = subject_key(row.get("subject") or row["type"])
        answer = row.get("answer") or extract.last_boxed(row["solution"]) or ""
        own = row.get("unique_id")
        return Sample(id=f"{subject}/{own if own else index}", benchmark=self.name, subset=subject,
                      input=row["problem"], target=answer, metadata={"level": str(row.get("level", ""))})

    def read_local(self, data_dir: Path):
        return [self._sample(i, r) for i, r in enumerate(read_jsonl(find(data_dir, self.local_path, Path(self.local_path).name)))]

    def read_hub(self):
        return [self._sample(i, r) for i, r in enumerate(hub_rows(self.hub))]

    def request(self, sample, mode, chat, shots, spec) -> Request:
        max_tokens = spec.max_tokens or 1024
        if chat:
            return Request(kind="generate", messages=({"role": "user", "content": CHAT_TEMPLATE.format(problem=sample.input)},),
                           max_tokens=max_tokens, repeats=spec.repeats)
        # Minerva / lm-evaluation-harness minerva_math layout
        return Request(kind="generate", prompt=f"Problem:\n{sample.input}\n\nSolution:", stop=("Problem:", "</s>", "<|im_end|>"),
                       max_tokens=max_tokens, repeats=spec.repeats)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        ok, extracted = math_equiv.is_equiv(sample.target, generation.text)
        return Score(values={"exact_match": float(ok)}, extracted=extracted)

    def info(self):
        return {**super().info(), "subsets": sorted(subject_key(s) for s in self.subjects)}

    subjects = ("Algebra", "Counting & Probability", "Geometry", "Intermediate Algebra", "Number Theory", "Prealgebra", "Precalculus")


@register
class Math(_Math):
    name = "math"
    description = "MATH test set (5,000 problems, 7 subjects); boxed answer, math-verify equivalence."
    hub = HubSource("EleutherAI/hendrycks_math", None, "test")
    items = 5000
    local_path = "math/test.jsonl"

    def read_hub(self):
        samples = []
        for subject in ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory", "prealgebra", "precalculus"):
            samples += hub_rows(HubSource(self.hub.path, subject, "test"))
        return [self._sample(i, r) for i, r in enumerate(samples)]


@register
class Math500(_Math):
    name = "math500"
    description = "MATH-500: the 500-problem test subset of 'Let's Verify Step by Step'; math-verify equivalence."
    hub = HubSource("HuggingFaceH4/MATH-500", None, "test")
    items = 500
    local_path = "math_oai/test.jsonl"
