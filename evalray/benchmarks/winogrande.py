"""WinoGrande: fill the blank with one of two names (Sakaguchi et al., 2019), lm-evaluation-harness partial
scoring: each option forms its own context (the sentence up to the blank), and the log-likelihood of the shared
rest of the sentence is compared."""

from __future__ import annotations

import os

from evalray.benchmarks.base import MultipleChoice, Source, Split
from evalray.benchmarks.registry import register
from evalray.types import Request, Sample


@register
class WinoGrande(MultipleChoice):
    name = "winogrande"
    description = "WinoGrande (xl) validation: partial-sentence scoring of the two options."
    source = Source(
        "allenai/winogrande", "winogrande_xl", id_field="qID",  # the original jsonl's id (not on the hub nor in the MosaicML copy)
        split=Split("validation", ("scripts/eval/local_data/language_understanding/winogrande.jsonl", "dev.jsonl", "winogrande.jsonl")),
        fewshot=Split("train", ("train_xl.jsonl", "train.jsonl")),
    )
    license = "CC BY"
    items = 1267
    metrics = ("acc",)
    shuffle_fewshot = True

    def parse(self, row: dict) -> Sample:
        if "context_options" in row:  # MosaicML ICL layout: partial contexts + shared continuation + gold
            contexts, rest, gold = list(row["context_options"]), row["continuation"], int(row["gold"])
            cut = os.path.commonprefix(contexts).rfind(" ") + 1
            options = tuple(c[cut:] for c in contexts)
            sentence = contexts[0][:cut] + "_ " + rest
        else:  # the original layout: sentence with "_", option1/option2, answer "1"/"2"
            cut = row["sentence"].index("_")
            options = (row["option1"], row["option2"])
            contexts = [row["sentence"][:cut] + o for o in options]
            rest, gold, sentence = row["sentence"][cut + 1 :].strip(), int(row["answer"]) - 1, row["sentence"]
        return self.sample(sentence, target=str(gold), choices=options, metadata={"contexts": contexts, "continuation": rest})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if mode == "generate":
            return self.generate_request(sample, chat, shots, spec)
        prefix = "".join(f"{s.metadata['contexts'][int(s.target)]} {s.metadata['continuation']}\n\n" for s in shots)
        return Request(kind="loglikelihood", prompt=prefix + sample.metadata["contexts"][0],
                       contexts=tuple(prefix + c for c in sample.metadata["contexts"]),
                       continuations=tuple(" " + sample.metadata["continuation"] for _ in sample.choices))

    def continuations(self, sample: Sample) -> list[str]:
        return [" " + sample.metadata["continuation"]] * len(sample.choices)

