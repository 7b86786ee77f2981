"""BIG-Bench Hard (Suzgun et al., 2022): 27 tasks, the official 3-shot chain-of-thought prompts
(``cot-prompts/<task>.txt`` under the data folder), answer read after "So the answer is"."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from evalray.benchmarks._io import find, read_json
from evalray.benchmarks.base import Benchmark, HubSource, hub_rows
from evalray.benchmarks.registry import register
from evalray.scoring import extract
from evalray.types import Generation, Request, Sample, Score

TASKS = (
    "boolean_expressions causal_judgement date_understanding disambiguation_qa dyck_languages formal_fallacies "
    "geometric_shapes hyperbaton logical_deduction_five_objects logical_deduction_seven_objects "
    "logical_deduction_three_objects movie_recommendation multistep_arithmetic_two navigate object_counting "
    "penguins_in_a_table reasoning_about_colored_objects ruin_names salient_translation_error_detection snarks "
    "sports_understanding temporal_sequences tracking_shuffled_objects_five_objects "
    "tracking_shuffled_objects_seven_objects tracking_shuffled_objects_three_objects web_of_lies word_sorting"
).split()
CHAT_SUFFIX = 'Think step by step, then finish with "So the answer is X." where X is the answer.'


@lru_cache(maxsize=64)
def cot_prompt(data_dir: str, task: str) -> str:
    """The official few-shot CoT prompt of a task: the file after its canary line and '-----' separator."""
    text = find(Path(data_dir), f"cot-prompts/{task}.txt", f"bbh/cot-prompts/{task}.txt").read_text(encoding="utf-8")
    return text.split("-----\n", 1)[-1].strip()


@register
class BBH(Benchmark):
    name = "bbh"
    description = "BIG-Bench Hard: 27 hard BIG-Bench tasks, 3-shot chain-of-thought, exact match after 'So the answer is'."
    hub = HubSource("lukaemon/bbh", None, "test")
    license = "MIT"
    items = 6511
    metrics = ("exact_match",)
    default_few_shot = 3

    def _task(self, task: str, examples: list[dict]) -> list[Sample]:
        return [Sample(id=f"{task}/{i}", benchmark=self.name, subset=task, input=e["input"], target=e["target"])
                for i, e in enumerate(examples)]

    def read_local(self, data_dir: Path):
        samples = []
        for task in TASKS:
            samples += self._task(task, read_json(find(data_dir, f"bbh/{task}.json", f"{task}.json"))["examples"])
        return samples

    def read_hub(self):
        samples = []
        for task in TASKS:
            samples += self._task(task, hub_rows(HubSource(self.hub.path, task, "test")))
        return samples

    def fewshot_pool(self, spec):
        return {}  # the few-shot examples are the fixed CoT prompt files, added in request()

    def request(self, sample, mode, chat, shots, spec) -> Request:
        k = self.few_shot(spec)
        header = ""
        if k and spec.data_dir:
            description, *examples = cot_prompt(spec.data_dir, sample.subset).split("\n\nQ: ")
            header = "\n\nQ: ".join([description, *examples[:k]]) + "\n\n"
        question = f"Q: {sample.input}\nA: Let's think step by step."
        max_tokens = spec.max_tokens or 512
        if chat:
            content = f"{header}{question.rsplit(chr(10), 1)[0]}\n\n{CHAT_SUFFIX}"
            return Request(kind="generate", messages=({"role": "user", "content": content},), max_tokens=max_tokens, repeats=spec.repeats)
        return Request(kind="generate", prompt=header + question, stop=("\n\nQ:", "</s>", "<|im_end|>"),
                       max_tokens=max_tokens, repeats=spec.repeats)

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = extract.answer_after_phrase(generation.text)
        return Score(values={"exact_match": float(extract.bbh_match(answer, sample.target))}, extracted=answer)

    def info(self):
        return {**super().info(), "subsets": list(TASKS)}
