"""Shared shape of the benchmarks from the OpenCompass dataset list (not a benchmark: the registry skips ``_`` modules).

:class:`ChoiceTask` has two forms, and ``evalray benchmarks show`` names the reference of each:

* ``loglikelihood`` (base models): lm-evaluation-harness's own task construction where lm-eval has the task — the
  sample's ``input`` is lm-eval's ``doc_to_text``, its ``choices`` lm-eval's ``doc_to_choice`` and the continuation
  is ``" " + choice`` (lm-eval's default ``target_delimiter``); otherwise the OpenCompass ``_ppl`` config's layout.
* ``generate`` (chat models, replay): the prompt of OpenCompass's ``_gen`` config, verbatim, kept in
  ``metadata["prompt"]`` with the gold option letter's index in ``metadata["answer"]``. Chat models get evalray's
  one-line ``ANSWER: X`` instruction in front of it; a completion model gets the prompt as is (it ends in
  ``Answer:``). The answer is extracted with the tolerant letter extractor (``ANSWER: X``, ``the answer is (X)``, a
  leading ``X.``), which covers OpenCompass's ``first_option_postprocess`` / ``first_capital_postprocess``.

The OpenCompass configs cited are those of open-compass/opencompass ``opencompass/configs/datasets`` at a5acc4b.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from evalray.benchmarks.base import LETTERS, MultipleChoice, chat_request, completion_request
from evalray.scoring import extract
from evalray.types import Generation, Request, Sample, Score


def option_lines(options: list[str] | tuple[str, ...]) -> str:
    """OpenCompass's option block: ``A. text`` per line."""
    return "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))


def label_index(value: Any, names: tuple[str, ...]) -> int:
    """A label as an index into ``names``: the hub's ints, or the local files' strings ("true", "entailment", "1")."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return [n.lower() for n in names].index(text.lower())


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class ChoiceTask(MultipleChoice):
    """lm-eval log-likelihood form + OpenCompass generative form (see the module docstring)."""

    metrics = ("acc",)
    loglikelihood_reference: ClassVar[str] = ""  # e.g. "lm-eval super_glue/rte/default.yaml"
    generate_reference: ClassVar[str] = ""  # e.g. "OpenCompass SuperGLUE_RTE_gen_68aac7"

    def choice_sample(self, context: str, choices: list[str] | tuple[str, ...], gold: int, prompt: str,
                      answer: int | None = None, n_options: int | None = None, subset: str | None = None,
                      **metadata: Any) -> Sample:
        """A sample: the log-likelihood context/choices/gold and the generative prompt/answer letter index
        (``answer`` defaults to ``gold``; ``n_options`` to the number of choices)."""
        return self.sample(context, target=str(gold), choices=tuple(choices), subset=subset, metadata={
            "prompt": prompt, "answer": gold if answer is None else answer,
            "n_options": len(choices) if n_options is None else n_options, **metadata})

    def context(self, sample: Sample) -> str:
        return sample.input

    def generate_request(self, sample: Sample, chat: bool, shots: list[Sample], spec) -> Request:
        shot_text = "".join(f"{s.metadata['prompt']} {LETTERS[s.metadata['answer']]}\n\n" for s in shots)
        if chat:
            letters = LETTERS[: sample.metadata["n_options"]]
            return chat_request(extract.MC_INSTRUCTION.format(letters=letters) + "\n\n" + shot_text
                                + sample.metadata["prompt"], max_tokens=512)
        return completion_request(shot_text + sample.metadata["prompt"], max_tokens=8, stop=("\n",))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        if mode == "loglikelihood":
            return super().score(sample, generation, mode)
        letter = extract.choice_letter(generation.text, sample.metadata["n_options"])
        return Score(values={"acc": float(letter == LETTERS[sample.metadata["answer"]])}, extracted=letter)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "loglikelihood": self.loglikelihood_reference or "-",
                "generate": self.generate_reference or "-"}
