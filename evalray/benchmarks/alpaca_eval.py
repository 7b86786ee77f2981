"""AlpacaEval 2 (Dubois et al., 2024): 805 instructions judged pairwise against a baseline model, as
tatsu-lab/alpaca_eval does.

* Ids are the 0-based row index in ``example/outputs.json`` order.
* Annotator ``weighted_alpaca_eval_gpt4_turbo`` (default): AlpacaEval's ``alpaca_eval_clf`` prompt, a one-token
  answer (``m``: the output in position A, ``M``: position B), and the preference computed from the judge's
  log-probabilities of the two tokens (``P(m) / (P(m) + P(M))``): the judge is asked for the log-likelihood of each
  token after the prompt, so it must be a backend that returns log-probabilities (hf, vllm, or an openai completions
  endpoint with echo + logprobs). ``alpaca_eval_gpt4`` (AlpacaEval 1) asks for a ranking list instead.
* Both orders are judged and their preferences averaged (AlpacaEval randomizes one order per instruction).
  Identical outputs are a draw (0.5) without a judge call, as AlpacaEval does.
* ``win_rate``: mean preference for the model; ``discrete_win_rate``: 1 / 0.5 / 0 per instruction; ``lc_win_rate``:
  the length-controlled GLM (:mod:`evalray.scoring.arena.length_control`, which says where the per-instruction
  difficulty comes from).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from evalray.benchmarks._io import read_json
from evalray.benchmarks._judged import JudgedBenchmark
from evalray.benchmarks.base import Source, Split
from evalray.benchmarks.registry import register
from evalray.job.spec import BenchmarkSpec
from evalray.scoring.judges.templates import builtin
from evalray.types import Sample

DEFAULT_ANNOTATOR = "weighted_alpaca_eval_gpt4_turbo"


@register
class AlpacaEval(JudgedBenchmark):
    name = "alpaca_eval"
    description = ("AlpacaEval 2: 805 instructions judged against a baseline model (weighted GPT-4-turbo annotator "
                   "from token log-probabilities); raw, discrete and length-controlled win rates.")
    source = Source("tatsu-lab/alpaca_eval", "alpaca_eval",
                    split=Split("eval", ("example/outputs.json", "alpaca_eval.json", "outputs.json")))
    license = "Apache-2.0"
    items = 805
    metrics = ("win_rate", "lc_win_rate", "discrete_win_rate")
    arena_modes = ("pairwise_baseline",)
    default_arena_mode = "pairwise_baseline"
    game_rule = "mean"
    answer_tokens = 2048
    judge_templates: ClassVar[dict[str, str]] = {"pairwise": "weighted_alpaca_eval_gpt4_turbo (log-prob of m / M); alpaca_eval_gpt4 (ranking)"}

    def read_file(self, path: Path) -> list[dict]:
        return list(read_json(path))

    def parse(self, record: dict) -> Sample:
        return self.sample(record["instruction"], metadata={"dataset": record.get("dataset")})

    def annotator(self, spec: BenchmarkSpec) -> str:
        return (spec.arena.annotator if spec.arena and spec.arena.annotator else None) or DEFAULT_ANNOTATOR

    def pair_judgment(self, sample, answers_a, answers_b, turn, spec):
        return builtin(self.annotator(spec)), {"instruction": sample.input, "output_1": answers_a[0],
                                               "output_2": answers_b[0]}
