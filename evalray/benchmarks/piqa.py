"""PIQA: physical commonsense, pick the better of two solutions (lm-evaluation-harness prompt)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import HubSource, MultipleChoice, hub_rows
from evalray.benchmarks.registry import register
from evalray.types import Sample


@register
class PIQA(MultipleChoice):
    name = "piqa"
    description = "PIQA: physical interaction QA (Bisk et al., 2020), validation split, two solutions per goal."
    hub = HubSource("ybisk/piqa", None, "validation", fewshot_split="train")
    license = "AFL-3.0"
    items = 1838
    shuffle_fewshot = True

    def _sample(self, index: int, row: dict, label) -> Sample:
        return Sample(id=str(index), benchmark=self.name, subset=None, input=row["goal"],
                      choices=(row["sol1"], row["sol2"]), target=str(int(label)))

    def _local(self, data_dir: Path, split: str):
        rows = read_jsonl(find(data_dir, f"piqa/data/{split}.jsonl", f"data/{split}.jsonl", f"{split}.jsonl"))
        labels_path = find(data_dir, f"piqa/data/{split}-labels.lst", f"data/{split}-labels.lst", f"{split}-labels.lst")
        labels = [line.strip() for line in labels_path.read_text().splitlines() if line.strip()]
        return [self._sample(i, row, label) for i, (row, label) in enumerate(zip(rows, labels, strict=True))]

    def read_local(self, data_dir: Path):
        return self._local(data_dir, "valid")

    def read_fewshot_local(self, data_dir: Path):
        return self._local(data_dir, "train")

    def read_hub(self):
        return [self._sample(i, r, r["label"]) for i, r in enumerate(hub_rows(self.hub))]

    def read_fewshot_hub(self):
        return [self._sample(i, r, r["label"]) for i, r in enumerate(hub_rows(self.hub, "train"))]

    def context(self, sample: Sample) -> str:
        return f"Question: {sample.input}\nAnswer:"
