"""BIG-Bench Hard (Suzgun et al., 2022): 27 tasks, the official 3-shot chain-of-thought prompts, answer read after
"So the answer is". The prompts (``cot-prompts/<task>.txt``) come from the data_dir when it has them, else from the
copy shipped in ``evalray/data/bbh`` (MIT), so hub-loaded BBH is 3-shot CoT too."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from evalray.benchmarks._io import read_json
from evalray.benchmarks.base import Benchmark, Source, Split, chat_request, completion_request, resolve_data_dir
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
QUESTION = "\n\nQ: "


def shipped_prompts() -> Path:
    return Path(str(resources.files("evalray") / "data" / "bbh" / "cot-prompts"))


@lru_cache(maxsize=64)
def cot_prompt(data_dir: str | None, task: str) -> str:
    """The official few-shot CoT prompt of a task (the file after its canary line and '-----' separator), from the
    data_dir's ``cot-prompts/`` (or ``bbh/cot-prompts/``) when present, else the shipped copy."""
    folders = [resolve_data_dir(data_dir) / "cot-prompts", resolve_data_dir(data_dir) / "bbh" / "cot-prompts"] if data_dir else []
    path = next((f / f"{task}.txt" for f in folders if (f / f"{task}.txt").is_file()), shipped_prompts() / f"{task}.txt")
    return path.read_text(encoding="utf-8").split("-----\n", 1)[-1].strip()


def cot_header(data_dir: str | None, task: str, k: int) -> str:
    """The task description and its first k worked examples, ready to precede the question."""
    if not k:
        return ""
    description, *examples = cot_prompt(data_dir, task).split(QUESTION)
    return QUESTION.join([description, *examples[:k]]) + "\n\n"


@register
class BBH(Benchmark):
    name = "bbh"
    description = "BIG-Bench Hard: 27 hard BIG-Bench tasks, 3-shot chain-of-thought, exact match after 'So the answer is'."
    source = Source("lukaemon/bbh", "{subset}", split=Split("test", ("bbh/{subset}.json", "{subset}.json")), subsets=tuple(TASKS))
    license = "MIT"
    items = 6511
    metrics = ("exact_match",)
    default_few_shot = 3

    def read_file(self, path: Path) -> list[dict]:
        return read_json(path)["examples"]  # {canary, examples: [{input, target}]}

    def parse(self, record: dict) -> Sample:
        return self.sample(record["input"], target=record["target"])

    def fewshot_pool(self, spec):
        return {}  # the few-shot examples are the fixed CoT prompt files, added in request()

    def request(self, sample, mode, chat, shots, spec) -> Request:
        header = cot_header(spec.data_dir, sample.subset, self.few_shot(spec))
        question = f"Q: {sample.input}\nA: Let's think step by step."
        if chat:
            return chat_request(f"{header}{question.rsplit(chr(10), 1)[0]}\n\n{CHAT_SUFFIX}", max_tokens=512)
        return completion_request(header + question, max_tokens=512, stop=("\n\nQ:", "</s>", "<|im_end|>"))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        answer = extract.answer_after_phrase(generation.text)
        return Score(values={"exact_match": float(extract.bbh_match(answer, sample.target))}, extracted=answer)
