"""MBPP (Austin et al., 2021): 500 test problems (task ids 11-510), the paper's 3-shot prompt (ids 2-4), code
checked against the three asserts in the sandbox; pass@1 and pass@k over ``repeats``."""

from __future__ import annotations

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
from evalray.benchmarks.registry import register
from evalray.scoring import code_exec
from evalray.types import Generation, Request, Sample, Score

FILES = ("Evaluation/MBPP/data/mbpp.jsonl", "mbpp.jsonl")
TEST_IDS, PROMPT_IDS = tuple(str(i) for i in range(11, 511)), ("2", "3", "4")


def task_text(sample: Sample) -> str:
    tests = "\n".join(sample.metadata["tests"])
    return f"You are an expert Python programmer, and here is your task: {sample.input} Your code should pass these tests:\n\n{tests}\n"


@register
class MBPP(Benchmark):
    name = "mbpp"
    runs_code = True
    description = "MBPP: 500 crowd-sourced Python problems (test ids 11-510), 3-shot prompt from ids 2-4."
    # the local copy is the full 974-problem file: the splits are id ranges of it
    source = Source("google-research-datasets/mbpp", "full", id_field="task_id",
                    split=Split("test", FILES, ids=TEST_IDS), fewshot=Split("prompt", FILES, ids=PROMPT_IDS))
    license = "CC BY 4.0"
    items = 500
    metrics = ("pass@1",)
    default_few_shot = 3  # always the paper's fixed prompt examples, in order (no shuffling)

    def parse(self, record: dict) -> Sample:
        return self.sample(record.get("text") or record.get("prompt", ""), target=record["code"],
                           metadata={"tests": list(record["test_list"]), "setup": record.get("test_setup_code", "")})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(task_text(sample) + "\nWrite the Python code in one ```python code block.", max_tokens=512)
        prefix = "".join(f"{task_text(s)}[BEGIN]\n{s.target}\n[DONE]\n" for s in shots)
        return completion_request(f"{prefix}{task_text(sample)}[BEGIN]\n", max_tokens=512, stop=("[DONE]",))

    def program(self, sample: Sample, text: str) -> str:
        code = code_exec.answer_code(text)
        # the setup code (task 367 builds trees of the solution's own Node class) runs after the solution
        return "\n".join([code, "", sample.metadata["setup"] or "", *sample.metadata["tests"], ""])

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        return code_exec.pass_at_k_score([self.program(sample, t) for t in (generation.texts or [""])])
