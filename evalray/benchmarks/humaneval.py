"""HumanEval (Chen et al., 2021): 164 Python functions; completions run against the unit tests in the sandbox;
pass@1 and pass@k (unbiased estimator over ``repeats`` samples per problem)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
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
    description = "HumanEval: 164 hand-written Python problems, executed against unit tests in a sandbox."
    hub = HubSource("openai/openai_humaneval", None, "test")
    license = "MIT"
    items = 164
    metrics = ("pass@1",)

    def _sample(self, row: dict) -> Sample:
        return Sample(id=row["task_id"], benchmark=self.name, subset=None, input=row["prompt"],
                      target=row["canonical_solution"], metadata={"test": row["test"], "entry_point": row["entry_point"]})

    def read_local(self, data_dir: Path):
        return [self._sample(r) for r in read_jsonl(find(data_dir, "HumanEval.jsonl.gz", "data/HumanEval.jsonl.gz", "HumanEval.jsonl"))]

    def read_hub(self):
        return [self._sample(r) for r in hub_rows(self.hub)]

    def request(self, sample, mode, chat, shots, spec) -> Request:
        max_tokens = spec.max_tokens or 512
        if chat:
            return Request(kind="generate", messages=({"role": "user", "content": CHAT_TEMPLATE.format(prompt=sample.input)},),
                           max_tokens=max_tokens, repeats=spec.repeats)
        return Request(kind="generate", prompt=sample.input, stop=("\nclass", "\ndef", "\n#", "\nif", "\nprint"),
                       max_tokens=max_tokens, repeats=spec.repeats)

    def program(self, sample: Sample, text: str) -> str:
        body = code_exec.function_code(text, sample.input, sample.metadata["entry_point"])
        return f"{body}\n\n{sample.metadata['test']}\n\ncheck({sample.metadata['entry_point']})\n"

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        return code_exec.pass_at_k_score([self.program(sample, t) for t in (generation.texts or [""])])
