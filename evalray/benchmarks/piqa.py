"""PIQA: physical commonsense, pick the better of two solutions (lm-evaluation-harness prompt)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import read_jsonl
from evalray.benchmarks.base import MultipleChoice, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample


def files(split: str) -> tuple[str, ...]:
    return (f"piqa/data/{split}.jsonl", f"data/{split}.jsonl", f"{split}.jsonl")


@register
class PIQA(MultipleChoice):
    name = "piqa"
    description = "PIQA: physical interaction QA (Bisk et al., 2020), validation split, two solutions per goal."
    source = Source("ybisk/piqa", None, split=Split("validation", files("valid")), fewshot=Split("train", files("train")))
    license = "AFL-3.0"
    items = 1838
    shuffle_fewshot = True

    def read_file(self, path: Path) -> list[dict]:
        """The original layout keeps the labels in an aligned ``<split>-labels.lst`` beside the jsonl."""
        rows = read_jsonl(path)
        labels_path = path.with_name(path.name.replace(".jsonl", "-labels.lst"))
        if not labels_path.is_file():
            raise FileNotFoundError(2, "no such file", str(labels_path))
        labels = [line.strip() for line in labels_path.read_text().splitlines() if line.strip()]
        return [{**row, "label": label} for row, label in zip(rows, labels, strict=True)]

    def parse(self, record: dict) -> Sample:
        return self.sample(record["goal"], target=str(int(record["label"])), choices=(record["sol1"], record["sol2"]))
