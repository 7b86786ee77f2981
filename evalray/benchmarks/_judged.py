"""The base of benchmarks scored by judges (MT-Bench, Arena-Hard, AlpacaEval).

A judged benchmark declares, besides its data and the model's prompt:

* its arena modes (``single``, ``pairwise_baseline``, ``pairwise_all``) and default;
* ``turns``: conversation turns per sample (MT-Bench: 2) and :meth:`turn_request`, the request of turn ``t`` built
  from the model's own earlier answers;
* :meth:`single_judgment` / :meth:`pair_judgment`: the judge template and its values for one answer (or one pair of
  answers, A then B) at a turn;
* ``game_rule``: how the two games of a pair (both orders) combine: ``fastchat`` (consistent verdicts win,
  inconsistent ones tie: FastChat's ``show_result``), ``battles`` (every game is a battle of its own, strong verdicts
  weigh 3: Arena-Hard-Auto), ``mean`` (the mean preference: AlpacaEval's probabilities);
* ``metric_names``: the result rows it writes.

Judged benchmarks never score a generation on their own: :meth:`score` is never called for them (the pipeline routes
their rows to the judges).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from evalray.benchmarks.base import Benchmark, chat_request
from evalray.job.spec import BenchmarkSpec
from evalray.scoring.judges.templates import JudgeTemplate
from evalray.types import Generation, Request, Sample, Score

MODES = ("single", "pairwise_baseline", "pairwise_all")


class JudgedBenchmark(Benchmark):
    judged: ClassVar[bool] = True
    arena_modes: ClassVar[tuple[str, ...]] = MODES
    default_arena_mode: ClassVar[str] = "single"
    game_rule: ClassVar[str] = "fastchat"
    turns: ClassVar[int] = 1
    answer_tokens: ClassVar[int] = 1024
    judge_templates: ClassVar[dict[str, str]] = {}  # mode -> template names (for `evalray benchmarks show`)

    def arena_mode(self, spec: BenchmarkSpec) -> str:
        mode = spec.arena.mode if spec.arena and spec.arena.mode else self.default_arena_mode
        if mode not in self.arena_modes:
            from evalray.errors import ConfigError

            raise ConfigError(f"benchmark {self.name}: arena mode '{mode}' is not one of {', '.join(self.arena_modes)}")
        return mode

    def questions(self, sample: Sample) -> list[str]:
        return list(sample.metadata.get("turns") or [sample.input])

    def request(self, sample, mode, chat, shots, spec) -> Request:
        return chat_request(self.questions(sample)[0], max_tokens=self.answer_tokens)

    def turn_request(self, sample: Sample, answers: list[str], turn: int, spec: BenchmarkSpec) -> Request:
        """The request of 0-based ``turn``: the conversation so far (the model's own answers) and the next question."""
        questions = self.questions(sample)
        messages: list[dict[str, str]] = []
        for question, answer in zip(questions[:turn], answers[:turn]):
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        messages.append({"role": "user", "content": questions[turn]})
        request = chat_request(messages, max_tokens=spec.max_tokens or self.answer_tokens)
        return replace(request, repeats=1, turn=turn, uid=sample.uid)

    def single_judgment(self, sample: Sample, answers: list[str], turn: int,
                        spec: BenchmarkSpec) -> tuple[JudgeTemplate, dict[str, str]]:
        raise NotImplementedError(f"{self.name} has no single-answer grading")

    def pair_judgment(self, sample: Sample, answers_a: list[str], answers_b: list[str], turn: int,
                      spec: BenchmarkSpec) -> tuple[JudgeTemplate, dict[str, str]]:
        raise NotImplementedError(f"{self.name} has no pairwise judgment")

    def annotator(self, spec: BenchmarkSpec) -> str | None:
        return None

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        raise NotImplementedError(f"{self.name} is scored by judges")

    def info(self) -> dict[str, Any]:
        info = super().info()
        info.update(arena_modes=list(self.arena_modes), default_arena_mode=self.default_arena_mode,
                    turns=self.turns, game_rule=self.game_rule,
                    judge_templates=[f"{mode}: {names}" for mode, names in self.judge_templates.items()])
        return info


def judge_request(template: JudgeTemplate, values: dict[str, str], uid: str) -> Request:
    """The judge's request: chat messages (system + user) answered in ``template.max_tokens``, or, for a log-prob
    verdict, the log-likelihood of each one-token answer after the prompt."""
    if template.format == "logprob":
        return Request(kind="loglikelihood", prompt=template.text_prompt(values), continuations=template.tokens,
                       uid=uid)
    return Request(kind="generate", messages=template.messages(values), max_tokens=template.max_tokens, uid=uid)


def is_judged(benchmark: Any) -> bool:
    return bool(getattr(benchmark, "judged", False))
