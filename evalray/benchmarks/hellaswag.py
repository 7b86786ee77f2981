"""HellaSwag: pick the most plausible ending (Zellers et al., 2019), with lm-evaluation-harness preprocessing
(activity label + context, ``[title]`` markers and bracketed tags removed) and acc_norm."""

from __future__ import annotations

import re
from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import HubSource, MultipleChoice, hub_rows
from evalray.benchmarks.registry import register
from evalray.types import Sample


def preprocess(text: str) -> str:
    text = text.strip()
    text = text.replace(" [title]", ". ")  # WikiHow artifacts
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


@register
class HellaSwag(MultipleChoice):
    name = "hellaswag"
    description = "HellaSwag sentence completion, validation split (10,042); lm-evaluation-harness preprocessing."
    hub = HubSource("Rowan/hellaswag", None, "validation", fewshot_split="train")
    license = "MIT"
    items = 10042
    shuffle_fewshot = True

    def _sample(self, index: int, row: dict) -> Sample:
        if "query" in row:  # the MosaicML ICL layout of the local sample: already preprocessed query/choices/gold
            return Sample(id=str(index), benchmark=self.name, subset=None, input=row["query"],
                          choices=tuple(row["choices"]), target=str(int(row["gold"])))
        context = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        return Sample(id=str(index), benchmark=self.name, subset=None,
                      input=preprocess(row["activity_label"] + ": " + context),
                      choices=tuple(preprocess(e) for e in row["endings"]), target=str(int(row["label"])))

    def read_local(self, data_dir: Path):
        path = find(data_dir, "hellaswag_val.jsonl", "data/hellaswag_val.jsonl", "tests/eval/local_data/hellaswag_small.jsonl")
        return [self._sample(i, r) for i, r in enumerate(read_jsonl(path))]

    def read_fewshot_local(self, data_dir: Path):
        return [self._sample(i, r) for i, r in enumerate(read_jsonl(find(data_dir, "hellaswag_train.jsonl", "data/hellaswag_train.jsonl")))]

    def read_hub(self):
        return [self._sample(i, r) for i, r in enumerate(hub_rows(self.hub))]

    def read_fewshot_hub(self):
        return [self._sample(i, r) for i, r in enumerate(hub_rows(self.hub, "train"))]

    def context(self, sample: Sample) -> str:
        return sample.input
