"""HellaSwag: pick the most plausible ending (Zellers et al., 2019), with lm-evaluation-harness preprocessing
(activity label + context, ``[title]`` markers and bracketed tags removed) and acc_norm."""

from __future__ import annotations

import re

from evalray.benchmarks.base import MultipleChoice, Source, Split
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
    source = Source(
        "Rowan/hellaswag", None,
        split=Split("validation", ("hellaswag_val.jsonl", "data/hellaswag_val.jsonl", "tests/eval/local_data/hellaswag_small.jsonl")),
        fewshot=Split("train", ("hellaswag_train.jsonl", "data/hellaswag_train.jsonl")),
        id_field="ind",  # the dataset's own index; the MosaicML sample has none (row index)
    )
    license = "MIT"
    items = 10042
    shuffle_fewshot = True

    def parse(self, record: dict) -> Sample:
        if "query" in record:  # the MosaicML ICL layout of the local sample: already preprocessed query/choices/gold
            return self.sample(record["query"], target=str(int(record["gold"])), choices=tuple(record["choices"]))
        context = record["ctx_a"] + " " + record["ctx_b"].capitalize()
        return self.sample(preprocess(record["activity_label"] + ": " + context), target=str(int(record["label"])),
                           choices=tuple(preprocess(e) for e in record["endings"]))

    def context(self, sample: Sample) -> str:
        return sample.input
