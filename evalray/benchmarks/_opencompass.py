"""Shared shape of the benchmarks from the OpenCompass dataset list (not a benchmark: the registry skips ``_`` modules).

:class:`ChoiceTask` has two forms, and ``evalray benchmarks show`` names the reference of each:

* ``loglikelihood`` (base models): lm-evaluation-harness's own task construction where lm-eval has the task — the
  sample's ``input`` is lm-eval's ``doc_to_text``, its ``choices`` lm-eval's ``doc_to_choice`` and the continuation
  is ``" " + choice`` (lm-eval's default ``target_delimiter``); otherwise the OpenCompass ``_ppl`` config's layout.
* ``generate`` (chat models, replay): the prompt of OpenCompass's ``_gen`` config, verbatim, kept in
  ``metadata["prompt"]`` with the gold option letter's index in ``metadata["answer"]``. Chat models get evalray's
  one-line ``ANSWER: X`` instruction in front of it; a completion model gets the prompt as is (it ends in
  ``Answer:`` / ``答：``). The letter is read by :func:`option_letter`: a marked answer first (``ANSWER: X``, ``the
  answer is (X)``, ``答案是X``, ``选X``: the last one), else the config's own postprocessor — OpenCompass's
  ``first_capital_postprocess`` (the first capital letter of the output: CLUE/FewCLUE, WiC, WSC, SummEdits) or, for
  ``first_option_postprocess``, evalray's bare/leading-letter rule (``B``, ``(B)``, ``B. text``; OpenCompass's long
  pattern list is not reproduced).

The OpenCompass configs cited are those of open-compass/opencompass ``opencompass/configs/datasets`` at a5acc4b.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from evalray.benchmarks.base import (
    LETTERS,
    MultipleChoice,
    chat_request,
    completion_request,
)
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


_MARKED = (re.compile(r"answer\s*(?:is|:|：)?\s*[:：]?\s*[*_`\s]*\(?\s*([A-Z])\s*\)?(?![A-Za-z])", re.IGNORECASE),
           re.compile(r"答案\s*(?:应该|应)?\s*(?:是|为|选)?\s*[:：]?\s*[(（]?\s*([A-Z])(?![A-Za-z])"),
           re.compile(r"(?:故|所以|因此)?选(?:择|项)?\s*[(（]?([A-Z])(?![A-Za-z])"))


def option_letter(text: str, n_options: int, rule: str = "first_option") -> str | None:
    """The chosen option letter of a generative answer (see the module docstring)."""
    valid = LETTERS[:n_options]
    text = text or ""
    marked = [(m.start(), m.group(1).upper()) for pattern in _MARKED for m in pattern.finditer(text)]
    marked = [letter for _, letter in sorted(marked) if letter in valid]
    if marked:
        return marked[-1]
    if rule == "first_capital":  # opencompass first_capital_postprocess
        first = next((c for c in text if c.isupper()), "")
        return first if first in valid and first else None
    return extract.choice_letter(text, n_options)


def general_postprocess(text: str) -> str:
    """opencompass.utils.text_postprocessors.general_postprocess: cut at the first newline, period or comma, drop
    punctuation and English articles, squeeze spaces."""
    text = re.split(r"[\n.,]", text, maxsplit=1)[0]
    text = re.sub(r"[^\w\s]", "", text)
    text = re.sub(r"\b(a|an|the)\b", "", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class ChoiceTask(MultipleChoice):
    """lm-eval log-likelihood form + OpenCompass generative form (see the module docstring)."""

    metrics = ("acc",)
    postprocess: ClassVar[str] = "first_option"  # the OpenCompass gen config's postprocessor: first_option | first_capital
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
        letter = option_letter(generation.text, sample.metadata["n_options"], self.postprocess)
        return Score(values={"acc": float(letter == LETTERS[sample.metadata["answer"]])}, extracted=letter)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "loglikelihood": self.loglikelihood_reference or "-",
                "generate": self.generate_reference or "-"}
