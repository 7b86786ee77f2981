"""IFEval (Zhou et al., 2023): 541 prompts with verifiable instructions ("no commas", "at least 300 words", ...).
Prompt-level accuracy (all instructions followed) and instruction-level accuracy, strict and loose, checked by
lm-evaluation-harness's implementation of the instruction checkers."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import ifeval_checks
from evalray.types import Generation, Request, Sample, Score


@register
class IFEval(Benchmark):
    name = "ifeval"
    description = "IFEval: 541 instruction-following prompts; prompt/instruction-level strict and loose accuracy."
    hub = HubSource("google/IFEval", None, "train")
    license = "Apache-2.0"
    items = 541
    metrics = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc")

    def _sample(self, row: dict) -> Sample:
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None} for kw in row["kwargs"]]
        return Sample(id=str(row["key"]), benchmark=self.name, subset=None, input=row["prompt"], target="",
                      metadata={"instruction_id_list": list(row["instruction_id_list"]), "kwargs": kwargs})

    def read_local(self, data_dir: Path):
        path = find(data_dir, "instruction_following_eval/data/input_data.jsonl", "data/input_data.jsonl", "input_data.jsonl")
        return [self._sample(r) for r in read_jsonl(path)]

    def read_hub(self):
        return [self._sample(r) for r in hub_rows(self.hub)]

    def request(self, sample, mode, chat, shots, spec) -> Request:
        max_tokens = spec.max_tokens or 1280
        if chat:
            return Request(kind="generate", messages=({"role": "user", "content": sample.input},), max_tokens=max_tokens, repeats=spec.repeats)
        return Request(kind="generate", prompt=sample.input, max_tokens=max_tokens, repeats=spec.repeats)

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
