"""MMLU: 57 subjects of four-choice questions (Hendrycks et al., 2021), lm-evaluation-harness default prompt."""

from __future__ import annotations

import csv
from pathlib import Path

from evalray.benchmarks.base import LETTERS, MultipleChoice, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample

_CATEGORIES = {
    "stem": "abstract_algebra anatomy astronomy college_biology college_chemistry college_computer_science "
    "college_mathematics college_physics computer_security conceptual_physics electrical_engineering "
    "elementary_mathematics high_school_biology high_school_chemistry high_school_computer_science "
    "high_school_mathematics high_school_physics high_school_statistics machine_learning",
    "humanities": "formal_logic high_school_european_history high_school_us_history high_school_world_history "
    "international_law jurisprudence logical_fallacies moral_disputes moral_scenarios philosophy prehistory "
    "professional_law world_religions",
    "social_sciences": "econometrics high_school_geography high_school_government_and_politics "
    "high_school_macroeconomics high_school_microeconomics high_school_psychology human_sexuality "
    "professional_psychology public_relations security_studies sociology us_foreign_policy",
    "other": "business_ethics clinical_knowledge college_medicine global_facts human_aging management marketing "
    "medical_genetics miscellaneous nutrition professional_accounting professional_medicine virology",
}


def folders(split: str) -> tuple[str, ...]:
    """Where a data_dir holds the ``<subject>_<split>.csv`` files (``data/mmlu/<split>/`` or flat)."""
    return tuple(f"{folder}{{subset}}_{split}.csv" for folder in (f"data/mmlu/{split}/", f"{split}/", "data/mmlu/", ""))


def read_subject_csv(path: Path) -> list[dict]:
    """One ``<subject>_<split>.csv``, with a ``question,choice0..3,answer`` header (answer index) or in the original
    header-less layout ``question,A,B,C,D,letter``, as hub-style records ``{question, choices, answer}``."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if rows and rows[0][:2] == ["question", "choice0"]:
        return [{"question": r[0], "choices": r[1:5], "answer": int(r[5])} for r in rows[1:]]
    return [{"question": r[0], "choices": r[1:5], "answer": LETTERS.index(r[5].strip())} for r in rows]


@register
class MMLU(MultipleChoice):
    name = "mmlu"
    description = "Massive Multitask Language Understanding: 57 subjects, 4 choices (lm-evaluation-harness prompt)."
    # the hub's "all" config names each row's subject; a data_dir has one CSV per subject (no id field: row ids)
    source = Source("cais/mmlu", "all", split=Split("test", folders("test")), fewshot=Split("dev", folders("dev")))
    license = "MIT"
    items = 14042
    metrics = ("acc",)
    default_few_shot = 0
    categories = {subject: category for category, names in _CATEGORIES.items() for subject in names.split()}

    def read_file(self, path: Path) -> list[dict]:
        return read_subject_csv(path)

    def parse(self, record: dict) -> Sample:
        return self.sample(record["question"], target=str(record["answer"]), choices=tuple(record["choices"]),
                           subset=record.get("subject"))

    def preamble(self, sample: Sample) -> str:
        return f"The following are multiple choice questions (with answers) about {sample.subset.replace('_', ' ')}.\n\n"

    def context(self, sample: Sample) -> str:
        options = "".join(f"\n{LETTERS[i]}. {c}" for i, c in enumerate(sample.choices))
        return f"{sample.input.strip()}{options}\nAnswer:"

    def continuations(self, sample: Sample) -> list[str]:
        return list(LETTERS[: len(sample.choices)])
