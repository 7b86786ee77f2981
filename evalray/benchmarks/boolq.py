"""BoolQ: yes/no questions about a Wikipedia passage (SuperGLUE), lm-evaluation-harness prompt, choices no/yes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import HubSource, MultipleChoice, hub_rows
from evalray.benchmarks.registry import register
from evalray.types import Sample


@register
class BoolQ(MultipleChoice):
    name = "boolq"
    description = "BoolQ (Clark et al., 2019): passage + yes/no question, validation split; choices 'no'/'yes'."
    hub = HubSource("aps/super_glue", "boolq", "validation", fewshot_split="train")
    license = "CC BY-SA 3.0"
    items = 3270
    metrics = ("acc",)
    shuffle_fewshot = True

    def _sample(self, index: int, row: dict) -> Sample:
        label = row["label"]
        yes = label.lower() == "true" if isinstance(label, str) else bool(label)
        return Sample(id=str(index), benchmark=self.name, subset=None, input=row["question"],
                      choices=("no", "yes"), target=str(int(yes)), metadata={"passage": row["passage"]})

    def read_local(self, data_dir: Path):
        return [self._sample(i, r) for i, r in enumerate(read_jsonl(find(data_dir, "data/SuperGLUE/BoolQ/val.jsonl", "BoolQ/val.jsonl", "val.jsonl")))]

    def read_fewshot_local(self, data_dir: Path):
        return [self._sample(i, r) for i, r in enumerate(read_jsonl(find(data_dir, "data/SuperGLUE/BoolQ/train.jsonl", "BoolQ/train.jsonl", "train.jsonl")))]

    def read_hub(self):
        return [self._sample(i, r) for i, r in enumerate(hub_rows(self.hub))]

    def read_fewshot_hub(self):
        return [self._sample(i, r) for i, r in enumerate(hub_rows(self.hub, "train"))]

    def context(self, sample: Sample) -> str:
        return f"{sample.metadata['passage']}\nQuestion: {sample.input}?\nAnswer:"

    def generate_request(self, sample, chat, shots, spec):
        # the generative prompt needs the passage too
        with_passage = [replace(s, input=f"{s.metadata['passage']}\n\nQuestion: {s.input}?") for s in [sample, *shots]]
        return super().generate_request(with_passage[0], chat, with_passage[1:], spec)
