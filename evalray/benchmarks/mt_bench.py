"""MT-Bench (Zheng et al., 2023): 80 two-turn questions in 8 categories, judged as FastChat's ``llm_judge`` does.

* Answers: turn 1 is the first question; turn 2 is asked with the model's own turn-1 answer in the conversation.
* Single grading (default): ``single-v1`` (turn 1) and ``single-v1-multi-turn`` (turn 2); questions of the math,
  reasoning and coding categories use ``single-math-v1`` (+ ``-multi-turn``) with the GPT-4 reference answers of
  ``reference_answer/gpt-4.jsonl``. A verdict is ``[[N]]`` (FastChat's pattern, then its ``[N]`` fallback), 1..10.
  ``score`` is the mean rating over every judged turn (FastChat ``show_result``'s average), ``score_turn1`` and
  ``score_turn2`` the per-turn means; subset rows are the categories.
* Pairwise (``pairwise_baseline`` / ``pairwise_all``): ``pair-v2`` / ``pair-math-v1`` and their multi-turn variants,
  two games per question and turn (both orders); consistent verdicts win, inconsistent ones are ties (FastChat);
  ``win_rate``, ``loss_rate``, ``tie_rate`` and ``win_rate_adjusted`` (a tie counts half).

Data: ``data_dir`` is FastChat's layout root (``../shared/data/mt_bench``): ``fastchat/llm_judge/data/...``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from evalray.benchmarks._judged import JudgedBenchmark
from evalray.benchmarks.base import Source, Split, resolve_data_dir
from evalray.benchmarks.registry import register
from evalray.errors import ConfigError
from evalray.job.spec import BenchmarkSpec
from evalray.scoring.judges.templates import JudgeTemplate, fastchat_templates
from evalray.types import Sample

ROOT = "fastchat/llm_judge/data"
NEED_REF_CATS = ("math", "reasoning", "coding")  # FastChat: categories judged against the reference answer
CATEGORIES = ("writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities")


@register
class MTBench(JudgedBenchmark):
    name = "mt_bench"
    description = ("MT-Bench: 80 two-turn questions, 8 categories; an LLM judge grades each turn 1-10 (FastChat "
                   "llm_judge prompts), or compares models pairwise in both orders.")
    source = Source("lmsys/mt_bench_human_judgments", None, id_field="question_id",
                    split=Split("train", (f"{ROOT}/mt_bench/question.jsonl", "mt_bench/question.jsonl",
                                          "question.jsonl")))
    license = "Apache-2.0"
    items = 80
    turns = 2
    metrics = ("score", "score_turn1", "score_turn2", "win_rate", "loss_rate", "tie_rate", "win_rate_adjusted")
    default_arena_mode = "single"
    game_rule = "fastchat"
    judge_templates: ClassVar[dict[str, str]] = {
        "single": "single-v1, single-v1-multi-turn; math/reasoning/coding: single-math-v1(-multi-turn) with GPT-4 "
                  "reference answers",
        "pairwise": "pair-v2, pair-v2-multi-turn; math/reasoning/coding: pair-math-v1(-multi-turn)",
    }

    def parse(self, record: dict) -> Sample:
        return self.sample(record["turns"][0], subset=record["category"],
                           metadata={"turns": list(record["turns"]), "category": record["category"]})

    def read(self, spec: BenchmarkSpec, fewshot: bool = False) -> list[Sample]:
        samples = super().read(spec, fewshot)
        references = self._references(spec)
        return [replace(s, metadata={**s.metadata, "reference": references.get(s.id)})
                if s.subset in NEED_REF_CATS else s for s in samples]

    def _root(self, spec: BenchmarkSpec) -> Path:
        if not spec.data_dir:
            raise ConfigError("benchmark mt_bench: set data_dir to FastChat's llm_judge data (e.g. "
                              "../shared/data/mt_bench); its judge prompts and reference answers are read from there")
        base = resolve_data_dir(spec.data_dir)
        for root in (base / ROOT, base / "data", base):
            if (root / "judge_prompts.jsonl").is_file():
                return root
        raise ConfigError(f"benchmark mt_bench: no judge_prompts.jsonl under data_dir {spec.data_dir}")

    def _references(self, spec: BenchmarkSpec) -> dict[str, list[str]]:
        path = self._root(spec) / "mt_bench" / "reference_answer" / "gpt-4.jsonl"
        if not path.is_file():
            raise ConfigError(f"benchmark mt_bench: reference answers {path} not found")
        out = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                out[str(record["question_id"])] = list(record["choices"][0]["turns"])
        return out

    def _template(self, spec: BenchmarkSpec, kind: str, sample: Sample, turn: int) -> JudgeTemplate:
        templates = fastchat_templates(str(self._root(spec) / "judge_prompts.jsonl"))
        math = sample.subset in NEED_REF_CATS
        name = {("single", False): "single-v1", ("single", True): "single-math-v1",
                ("pair", False): "pair-v2", ("pair", True): "pair-math-v1"}[(kind, math)]
        return templates[name + ("-multi-turn" if turn else "")]

    def _reference(self, sample: Sample) -> dict[str, str]:
        reference = sample.metadata.get("reference") or []
        return {f"ref_answer_{i + 1}": text for i, text in enumerate(reference)}

    def single_judgment(self, sample, answers, turn, spec):
        questions = self.questions(sample)
        values = self._reference(sample)
        if turn == 0:
            values.update(question=questions[0], answer=answers[0])
        else:
            values.update(question_1=questions[0], question_2=questions[1], answer_1=answers[0], answer_2=answers[1])
        return self._template(spec, "single", sample, turn), values

    def pair_judgment(self, sample, answers_a, answers_b, turn, spec):
        questions = self.questions(sample)
        values = self._reference(sample)
        if turn == 0:
            values.update(question=questions[0], answer_a=answers_a[0], answer_b=answers_b[0])
        else:
            values.update(question_1=questions[0], question_2=questions[1], answer_a_1=answers_a[0],
                          answer_b_1=answers_b[0], answer_a_2=answers_a[1], answer_b_2=answers_b[1])
        return self._template(spec, "pair", sample, turn), values
