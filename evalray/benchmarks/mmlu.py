"""MMLU: 57 subjects of four-choice questions (Hendrycks et al., 2021), lm-evaluation-harness default prompt."""

from __future__ import annotations

import csv
from pathlib import Path

from evalray.benchmarks.base import LETTERS, HubSource, MultipleChoice, hub_rows
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


def read_subject_csvs(folder: Path, split: str, benchmark: str) -> list[Sample]:
    """``<subject>_<split>.csv`` files, with a ``question,choice0..3,answer`` header (answer index) or in the original
    header-less layout ``question,A,B,C,D,letter``."""
    files = sorted(folder.glob(f"*_{split}.csv"))
    if not files:
        raise FileNotFoundError(2, "no such files", str(folder / f"*_{split}.csv"))
    samples = []
    for path in files:
        subject = path.name[: -len(f"_{split}.csv")]
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if rows and rows[0][:2] == ["question", "choice0"]:
            rows = [r[:5] + [LETTERS[int(r[5])]] for r in rows[1:]]
        for index, row in enumerate(rows):
            samples.append(Sample(id=f"{subject}/{index}", benchmark=benchmark, subset=subject, input=row[0],
                                  target=str(LETTERS.index(row[5].strip())), choices=tuple(row[1:5])))
    return samples


@register
class MMLU(MultipleChoice):
    name = "mmlu"
    description = "Massive Multitask Language Understanding: 57 subjects, 4 choices (lm-evaluation-harness prompt)."
    hub = HubSource("cais/mmlu", "all", "test", fewshot_split="dev")
    license = "MIT"
    items = 14042
    metrics = ("acc",)
    default_few_shot = 0
    categories = {subject: category for category, names in _CATEGORIES.items() for subject in names.split()}

    def read_local(self, data_dir: Path):
        return read_subject_csvs(_find(data_dir, "test"), "test", self.name)

    def read_fewshot_local(self, data_dir: Path):
        return read_subject_csvs(_find(data_dir, "dev"), "dev", self.name)

    def _from_hub(self, split: str) -> list[Sample]:
        counts: dict[str, int] = {}
        samples = []
        for row in hub_rows(self.hub, split):
            index = counts[row["subject"]] = counts.get(row["subject"], -1) + 1
            samples.append(Sample(id=f"{row['subject']}/{index}", benchmark=self.name, subset=row["subject"],
                                  input=row["question"], target=str(row["answer"]), choices=tuple(row["choices"])))
        return samples

    def read_hub(self):
        return self._from_hub(self.hub.split)

    def read_fewshot_hub(self):
        return self._from_hub("dev")

    def preamble(self, sample: Sample) -> str:
        return f"The following are multiple choice questions (with answers) about {sample.subset.replace('_', ' ')}.\n\n"

    def context(self, sample: Sample) -> str:
        options = "".join(f"\n{LETTERS[i]}. {c}" for i, c in enumerate(sample.choices))
        return f"{sample.input.strip()}{options}\nAnswer:"

    def continuations(self, sample: Sample) -> list[str]:
        return list(LETTERS[: len(sample.choices)])


def _find(data_dir: Path, split: str) -> Path:
    """The folder holding ``*_<split>.csv`` under a data_dir (``data/mmlu/<split>/`` or flat)."""
    for candidate in (data_dir / "data" / "mmlu" / split, data_dir / split, data_dir / "data" / "mmlu", data_dir):
        if any(candidate.glob(f"*_{split}.csv")):
            return candidate
    raise FileNotFoundError(2, "no such files", f"*_{split}.csv")
