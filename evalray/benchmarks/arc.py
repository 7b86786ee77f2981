"""ARC (AI2 Reasoning Challenge), Easy and Challenge sets: grade-school science questions, 3-5 choices
(lm-evaluation-harness prompt ``Question: ...\\nAnswer:`` with the choice texts as continuations)."""

from __future__ import annotations

from evalray.benchmarks.base import MultipleChoice, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Sample


def arc_source(folder: str) -> Source:
    """The hub config ``folder`` or the original ARC-V1 jsonl files ``<folder>/<folder>-Test.jsonl``."""
    return Source(
        "allenai/ai2_arc", folder,
        split=Split("test", (f"{folder}/{folder}-Test.jsonl", f"{folder}-Test.jsonl")),
        fewshot=Split("train", (f"{folder}/{folder}-Train.jsonl", f"{folder}/{folder}-Dev.jsonl")),
        id_field="id",
    )


class _ARC(MultipleChoice):
    license = "CC BY-SA 4.0"
    shuffle_fewshot = True

    def parse(self, record: dict) -> Sample:
        question = record["question"]
        if isinstance(question, dict):  # the original ARC jsonl: {"stem", "choices": [{"text", "label"}]}
            stem, texts, labels = question["stem"], [c["text"] for c in question["choices"]], [c["label"] for c in question["choices"]]
        else:  # the hub layout: question, choices {"text": [...], "label": [...]}
            stem, texts, labels = question, list(record["choices"]["text"]), list(record["choices"]["label"])
        return self.sample(stem, target=str(labels.index(record["answerKey"])), choices=tuple(texts))


@register
class ARCEasy(_ARC):
    name = "arc_easy"
    description = "ARC-Easy: grade-school science questions (Clark et al., 2018), log-likelihood over the answers."
    source = arc_source("ARC-Easy")
    items = 2376


@register
class ARCChallenge(_ARC):
    name = "arc_challenge"
    description = "ARC-Challenge: the hard grade-school science questions (Clark et al., 2018)."
    source = arc_source("ARC-Challenge")
    items = 1172
