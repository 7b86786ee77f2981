"""MBPP (Austin et al., 2021): 500 test problems (task ids 11-510), the paper's 3-shot prompt (ids 2-4), code
checked against the three asserts in the sandbox; pass@1 and pass@k over ``repeats``."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import code_exec
from evalray.types import Generation, Request, Sample, Score

TEST_IDS, PROMPT_IDS = range(11, 511), (2, 3, 4)


def task_text(sample: Sample) -> str:
    tests = "\n".join(sample.metadata["tests"])
    return f"You are an expert Python programmer, and here is your task: {sample.input} Your code should pass these tests:\n\n{tests}\n"


@register
class MBPP(Benchmark):
    name = "mbpp"
    description = "MBPP: 500 crowd-sourced Python problems (test ids 11-510), 3-shot prompt from ids 2-4."
    hub = HubSource("google-research-datasets/mbpp", "full", "test", fewshot_split="prompt")
    license = "CC BY 4.0"
    items = 500
    metrics = ("pass@1",)
    default_few_shot = 3

    def _sample(self, row: dict) -> Sample:
        return Sample(id=str(row["task_id"]), benchmark=self.name, subset=None, input=row.get("text") or row.get("prompt", ""),
                      target=row["code"], metadata={"tests": list(row["test_list"]), "setup": row.get("test_setup_code", "")})

    def _local(self, data_dir: Path, ids) -> list[Sample]:
        rows = read_jsonl(find(data_dir, "Evaluation/MBPP/data/mbpp.jsonl", "mbpp.jsonl"))
        by_id = {int(r["task_id"]): r for r in rows}
        return [self._sample(by_id[i]) for i in ids if i in by_id]

    def read_local(self, data_dir: Path):
        return self._local(data_dir, TEST_IDS)

    def read_fewshot_local(self, data_dir: Path):
        return self._local(data_dir, PROMPT_IDS)

    def read_hub(self):
        return [self._sample(r) for r in hub_rows(self.hub) if int(r["task_id"]) in TEST_IDS]

    def read_fewshot_hub(self):
        rows = {int(r["task_id"]): r for r in hub_rows(self.hub, "prompt")}
        return [self._sample(rows[i]) for i in PROMPT_IDS if i in rows]

    def shots_for(self, sample, pool, k, seed):
        return pool.get(None, [])[:k]  # always the paper's fixed prompt examples, in order

    def request(self, sample, mode, chat, shots, spec) -> Request:
        max_tokens = spec.max_tokens or 512
        if chat:
            content = task_text(sample) + "\nWrite the Python code in one ```python code block."
            return Request(kind="generate", messages=({"role": "user", "content": content},), max_tokens=max_tokens, repeats=spec.repeats)
        prefix = "".join(f"{task_text(s)}[BEGIN]\n{s.target}\n[DONE]\n" for s in shots)
        return Request(kind="generate", prompt=f"{prefix}{task_text(sample)}[BEGIN]\n", stop=("[DONE]",),
                       max_tokens=max_tokens, repeats=spec.repeats)

    def program(self, sample: Sample, text: str) -> str:
        code = code_exec.answer_code(text)
        # the setup code (task 367 builds trees of the solution's own Node class) runs after the solution
        return "\n".join([code, "", sample.metadata["setup"] or "", *sample.metadata["tests"], ""])

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        return code_exec.pass_at_k_score([self.program(sample, t) for t in (generation.texts or [""])])
