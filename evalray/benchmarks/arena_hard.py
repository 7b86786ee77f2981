"""Arena-Hard-Auto (Li et al., 2024): hard user prompts judged pairwise against a baseline model, as
lmarena/arena-hard-auto does.

* Subsets are its folders: ``arena-hard-v0.1`` (500 prompts) and ``arena-hard-v2.0`` (750); ids are its ``uid``.
* Judge: Arena-Hard's system prompt (the judge answers the prompt itself first) and its five-level verdicts
  ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``, ``[[B>>A]]`` (every label in the text must agree), two games per
  prompt with the positions swapped. Every game is a battle; a strong verdict counts as 3 battles.
* ``score``: the win rate against the baseline predicted by the Bradley–Terry fit of the battles (Arena-Hard's
  default leaderboard), with a bootstrap 95% interval; ``style_control: true`` adds the style-controlled fit.
  ``win_rate`` / ``loss_rate`` / ``tie_rate`` are the raw shares of battles.

Both subsets are judged with the v0.1 judge prompt (arena-hard-auto's v2.0 configuration adds per-category judge
prompts that evalray does not ship).
"""

from __future__ import annotations

from typing import ClassVar

from evalray.benchmarks._judged import JudgedBenchmark
from evalray.benchmarks.base import Source, Split
from evalray.benchmarks.registry import register
from evalray.scoring.judges.templates import builtin
from evalray.types import Sample


@register
class ArenaHard(JudgedBenchmark):
    name = "arena_hard"
    description = ("Arena-Hard-Auto: 500 (v0.1) / 750 (v2.0) hard prompts judged pairwise against a baseline with "
                   "five-level verdicts; Bradley-Terry win rate with bootstrap intervals, optional style control.")
    source = Source("lmarena-ai/arena-hard-auto", None, id_field="uid",
                    subsets=("arena-hard-v0.1", "arena-hard-v2.0"),
                    split=Split("train", ("data/{subset}/question.jsonl", "{subset}/question.jsonl")))
    license = "Apache-2.0"
    items = 1250
    metrics = ("score", "win_rate", "loss_rate", "tie_rate")
    arena_modes = ("pairwise_baseline", "pairwise_all")
    default_arena_mode = "pairwise_baseline"
    game_rule = "battles"
    answer_tokens = 4096
    judge_templates: ClassVar[dict[str, str]] = {"pairwise": "arena-hard-v0.1 (five-level [[A>>B]] .. [[B>>A]], strong verdicts weigh 3)"}

    def parse(self, record: dict) -> Sample:
        prompt = record.get("prompt")
        if prompt is None and record.get("turns"):
            prompt = record["turns"][0].get("content", "")
        return self.sample(str(prompt), metadata={
            "category": record.get("category"), "cluster": record.get("cluster") or record.get("subcategory")})

    def pair_judgment(self, sample, answers_a, answers_b, turn, spec):
        return builtin("arena-hard-v0.1"), {"question_1": sample.input, "answer_1": answers_a[0],
                                            "answer_2": answers_b[0]}
