"""Judge prompt templates: the text a judge is asked, per benchmark and mode, and the verdict format it answers in.

* MT-Bench: FastChat's ``judge_prompts.jsonl``, read from the benchmark's data folder
  (``fastchat/llm_judge/data/judge_prompts.jsonl``): ``single-v1``, ``single-math-v1`` (with the GPT-4 reference
  answer), their ``-multi-turn`` variants for turn 2, and ``pair-v2`` / ``pair-math-v1`` (+ ``-multi-turn``).
* evalray's ``correctness-v1`` (``judge: {strategy: llm | auto}`` of a generative benchmark: correct or not against
  the target);
* Arena-Hard-Auto ``arena-hard-v0.1`` and AlpacaEval's ``weighted_alpaca_eval_gpt4_turbo`` / ``alpaca_eval_gpt4``:
  ``evalray/data/judge_prompts/judge_prompts.jsonl`` (the texts of those projects, Apache-2.0, with their source in
  each record).

Placeholders are filled by name only (``{question}``, ``{answer_a}``, ``{output_1}``...): AlpacaEval's templates hold
literal braces, so no ``str.format``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from evalray.scoring.judges.verdicts import FORMATS

FASTCHAT_FORMATS = {"[[rating]]": "rating", "[[A]]": "pair"}
_PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")


@dataclass(frozen=True)
class JudgeTemplate:
    """One judge prompt: system and user text, the verdict format, and the judge's answer length."""

    name: str
    system_prompt: str
    prompt_template: str
    format: str
    max_tokens: int = 2048
    tokens: tuple[str, ...] = ()  # logprob format: the one-token answers naming positions A and B
    source: str = ""
    placeholders: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"judge template {self.name}: unknown format {self.format}")

    def render(self, values: Mapping[str, str]) -> str:
        """The user prompt with every placeholder of the template replaced (a missing value is an error)."""
        missing = [name for name in _PLACEHOLDER.findall(self.prompt_template) if name not in values
                   and name in self.fields()]
        if missing:
            raise KeyError(f"judge template {self.name} needs {missing[0]}")
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values and m.group(1) in
                                self.fields() else m.group(0), self.prompt_template)

    def fields(self) -> tuple[str, ...]:
        return self.placeholders or tuple(dict.fromkeys(_PLACEHOLDER.findall(self.prompt_template)))

    def messages(self, values: Mapping[str, str]) -> tuple[dict[str, str], ...]:
        user = {"role": "user", "content": self.render(values)}
        return ({"role": "system", "content": self.system_prompt}, user) if self.system_prompt else (user,)

    def text_prompt(self, values: Mapping[str, str]) -> str:
        """System and user text as one prompt, for judges scored by log-likelihood (completions APIs)."""
        return (self.system_prompt + "\n\n" if self.system_prompt else "") + self.render(values) + "\n"


def _fastchat_placeholders(template: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(template)))


@lru_cache(maxsize=8)
def fastchat_templates(path: str) -> dict[str, JudgeTemplate]:
    """FastChat's judge prompts by name, from a ``judge_prompts.jsonl``."""
    templates: dict[str, JudgeTemplate] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        kind = FASTCHAT_FORMATS.get(record["output_format"])
        if kind is None:
            continue
        pairwise = record["type"] == "pairwise"
        templates[record["name"]] = JudgeTemplate(
            name=record["name"], system_prompt=record["system_prompt"], prompt_template=record["prompt_template"],
            format=kind, max_tokens=2048 if pairwise else 1024, source="lm-sys/FastChat judge_prompts.jsonl",
            placeholders=_fastchat_placeholders(record["prompt_template"]))
    return templates


@lru_cache(maxsize=1)
def builtin_templates() -> dict[str, JudgeTemplate]:
    """The Arena-Hard-Auto and AlpacaEval judge prompts shipped with evalray."""
    text = (resources.files("evalray") / "data" / "judge_prompts" / "judge_prompts.jsonl").read_text(encoding="utf-8")
    templates = {}
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            fields = {"arena-hard-v0.1": ("question_1", "answer_1", "answer_2"),
                      "correctness-v1": ("question", "target", "answer")}.get(
                record["name"], ("instruction", "output_1", "output_2"))
            templates[record["name"]] = JudgeTemplate(
                name=record["name"], system_prompt=record["system_prompt"], prompt_template=record["prompt_template"],
                format=record["format"], max_tokens=int(record.get("max_tokens", 2048)),
                tokens=tuple(record.get("tokens", ())), source=record.get("source", ""), placeholders=fields)
    return templates


def builtin(name: str) -> JudgeTemplate:
    return builtin_templates()[name]
