"""BoolQ: yes/no questions about a Wikipedia passage (SuperGLUE), lm-evaluation-harness prompt, choices no/yes."""

from __future__ import annotations

from dataclasses import replace

from evalray.benchmarks.base import MultipleChoice, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample


@register
class BoolQ(MultipleChoice):
    name = "boolq"
    description = "BoolQ (Clark et al., 2019): passage + yes/no question, validation split; choices 'no'/'yes'."
    source = Source(
        "aps/super_glue", "boolq",
        split=Split("validation", ("data/SuperGLUE/BoolQ/val.jsonl", "BoolQ/val.jsonl", "val.jsonl")),
        fewshot=Split("train", ("data/SuperGLUE/BoolQ/train.jsonl", "BoolQ/train.jsonl", "train.jsonl")),
        id_field="idx",
    )
    license = "CC BY-SA 3.0"
    items = 3270
    metrics = ("acc",)
    shuffle_fewshot = True

    def parse(self, record: dict) -> Sample:
        label = record["label"]
        yes = label.lower() == "true" if isinstance(label, str) else bool(label)
        return self.sample(record["question"], target=str(int(yes)), choices=("no", "yes"),
                           metadata={"passage": record["passage"]})

    def context(self, sample: Sample) -> str:
        return f"{sample.metadata['passage']}\nQuestion: {sample.input}?\nAnswer:"

    def generate_request(self, sample, chat, shots, spec):
        # the generative prompt needs the passage too
        with_passage = [replace(s, input=f"{s.metadata['passage']}\n\nQuestion: {s.input}?") for s in [sample, *shots]]
        return super().generate_request(with_passage[0], chat, with_passage[1:], spec)
