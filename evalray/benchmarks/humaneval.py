"""HumanEval (Chen et al., 2021): 164 Python functions; completions run against the unit tests in the sandbox;
pass@1 and pass@k (unbiased estimator over ``repeats`` samples per problem)."""

from __future__ import annotations

from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request
from evalray.benchmarks.registry import register
from evalray.scoring import code_exec
from evalray.types import Generation, Request, Sample, Score

CHAT_TEMPLATE = (
    "Complete the following Python function. Return the whole function (with its imports) in one ```python code "
    "block.\n\n```python\n{prompt}```"
)


@register
class HumanEval(Benchmark):
    name = "humaneval"
    runs_code = True
    description = "HumanEval: 164 hand-written Python problems, executed against unit tests in a sandbox."
    source = Source("openai/openai_humaneval", None, id_field="task_id",
                    split=Split("test", ("HumanEval.jsonl.gz", "data/HumanEval.jsonl.gz", "HumanEval.jsonl")))
    license = "MIT"
    items = 164
    metrics = ("pass@1",)

    def parse(self, record: dict) -> Sample:
        return self.sample(record["prompt"], target=record["canonical_solution"],
                           metadata={"test": record["test"], "entry_point": record["entry_point"]})

    def request(self, sample, mode, chat, shots, spec) -> Request:
        if chat:
            return chat_request(CHAT_TEMPLATE.format(prompt=sample.input), max_tokens=512)
        return completion_request(sample.input, max_tokens=512, stop=("\nclass", "\ndef", "\n#", "\nif", "\nprint"))

    def program(self, sample: Sample, text: str) -> str:
        body = code_exec.function_code(text, sample.input, sample.metadata["entry_point"])
        return f"{body}\n\n{sample.metadata['test']}\n\ncheck({sample.metadata['entry_point']})\n"

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        return code_exec.pass_at_k_score([self.program(sample, t) for t in (generation.texts or [""])])
