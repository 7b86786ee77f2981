"""IFEval (Zhou et al., 2023): 541 prompts with verifiable instructions ("no commas", "at least 300 words", ...).
Prompt-level accuracy (all instructions followed) and instruction-level accuracy, strict and loose, checked by
lm-evaluation-harness's implementation of the instruction checkers."""

from __future__ import annotations

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
from evalray.benchmarks.registry import register
from evalray.scoring import ifeval_checks
from evalray.types import Generation, Request, Sample, Score


@register
class IFEval(Benchmark):
    name = "ifeval"
    description = "IFEval: 541 instruction-following prompts; prompt/instruction-level strict and loose accuracy."
    source = Source("google/IFEval", None, id_field="key", split=Split(
        "train", ("instruction_following_eval/data/input_data.jsonl", "data/input_data.jsonl", "input_data.jsonl")))
    license = "Apache-2.0"
    items = 541
    metrics = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc")

    def parse(self, record: dict) -> Sample:
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in record["kwargs"]]
        return self.sample(record["prompt"], metadata={"instruction_id_list": list(record["instruction_id_list"]), "kwargs": kwargs})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(sample.input, max_tokens=1280)
        return completion_request(sample.input, max_tokens=1280)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        result = ifeval_checks.check(int(sample.id), sample.input, sample.metadata["instruction_id_list"],
                                     sample.metadata["kwargs"], generation.text or "")
        # instruction-level accuracy pools every instruction of every prompt (lm-evaluation-harness): a list of
        # observations, which the aggregator pools rather than averaging per prompt
        n = len(result.inst_strict) or 1
        return Score(values={
            "prompt_level_strict_acc": float(result.prompt_strict),
            "inst_level_strict_acc": [float(x) for x in result.inst_strict],
            "prompt_level_loose_acc": float(result.prompt_loose),
            "inst_level_loose_acc": [float(x) for x in result.inst_loose],
        }, extracted=f"strict {sum(result.inst_strict)}/{n}, loose {sum(result.inst_loose)}/{n}")
