"""ARC (AI2 Reasoning Challenge), Easy and Challenge sets: grade-school science questions, 3-5 choices
(lm-evaluation-harness prompt ``Question: ...\\nAnswer:`` with the choice texts as continuations)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import HubSource, MultipleChoice, hub_rows
from evalray.benchmarks.registry import register
from evalray.types import Sample


class _ARC(MultipleChoice):
    folder = ""
    license = "CC BY-SA 4.0"
    shuffle_fewshot = True

    def _sample(self, row: dict) -> Sample:
        question = row["question"]
        if isinstance(question, dict):  # the original ARC jsonl: {"stem", "choices": [{"text", "label"}]}
            stem, texts, labels = question["stem"], [c["text"] for c in question["choices"]], [c["label"] for c in question["choices"]]
        else:  # the hub layout: question, choices {"text": [...], "label": [...]}
            stem, texts, labels = question, list(row["choices"]["text"]), list(row["choices"]["label"])
        return Sample(id=row["id"], benchmark=self.name, subset=None, input=stem, choices=tuple(texts),
                      target=str(labels.index(row["answerKey"])))

    def read_local(self, data_dir: Path):
        return [self._sample(r) for r in read_jsonl(find(data_dir, f"{self.folder}/{self.folder}-Test.jsonl", f"{self.folder}-Test.jsonl"))]

    def read_fewshot_local(self, data_dir: Path):
        return [self._sample(r) for r in read_jsonl(find(data_dir, f"{self.folder}/{self.folder}-Train.jsonl", f"{self.folder}/{self.folder}-Dev.jsonl"))]

    def read_hub(self):
        return [self._sample(r) for r in hub_rows(self.hub)]

    def read_fewshot_hub(self):
        return [self._sample(r) for r in hub_rows(self.hub, self.hub.fewshot_split)]

    def context(self, sample: Sample) -> str:
        return f"Question: {sample.input}\nAnswer:"


@register
class ARCEasy(_ARC):
    name = "arc_easy"
    folder = "ARC-Easy"
    description = "ARC-Easy: grade-school science questions (Clark et al., 2018), log-likelihood over the answers."
    hub = HubSource("allenai/ai2_arc", "ARC-Easy", "test", fewshot_split="train")
    items = 2376


@register
class ARCChallenge(_ARC):
    name = "arc_challenge"
    folder = "ARC-Challenge"
    description = "ARC-Challenge: the hard grade-school science questions (Clark et al., 2018)."
    hub = HubSource("allenai/ai2_arc", "ARC-Challenge", "test", fewshot_split="train")
    items = 1172
