"""Commonsense and reading multiple choice from the OpenCompass list: OpenBookQA, Social IQa, XStoryCloze (en/zh) and
RACE (middle/high). Log-likelihood: lm-evaluation-harness's task YAMLs; generative: OpenCompass's ``_gen`` prompts.
Local files: the OpenCompass bundle layout (``openbookqa/Main``, ``siqa``, ``xstory_cloze``, ``race/test``)."""

from __future__ import annotations

from pathlib import Path

from evalray.benchmarks._io import find, read_jsonl
from evalray.benchmarks._opencompass import ChoiceTask, option_lines, read_lines
from evalray.benchmarks.base import LETTERS, Source, Split, resolve_data_dir
from evalray.benchmarks.registry import register
from evalray.job.spec import BenchmarkSpec
from evalray.types import Sample


@register
class OpenBookQA(ChoiceTask):
    name = "obqa"
    description = "OpenBookQA main test (Mihaylov et al., 2018): elementary science questions, 4 choices."
    source = Source("allenai/openbookqa", "main", id_field="id",
                    split=Split("test", ("openbookqa/Main/test.jsonl", "Main/test.jsonl", "test.jsonl")),
                    fewshot=Split("train", ("openbookqa/Main/train.jsonl", "Main/train.jsonl")))
    license = "Apache-2.0"
    items = 500
    metrics = ("acc", "acc_norm")
    shuffle_fewshot = True
    loglikelihood_reference = "lm-eval openbookqa/openbookqa.yaml"
    generate_reference = "OpenCompass obqa_gen_9069e4 (openbookqa, no fact)"

    def parse(self, r: dict) -> Sample:
        q = r.get("question")
        if isinstance(q, dict):  # the original jsonl: question {stem, choices [{text, label}]}
            stem, texts, labels = q["stem"], [c["text"] for c in q["choices"]], [c["label"] for c in q["choices"]]
        else:  # the hub: question_stem, choices {text, label}
            stem, texts, labels = r["question_stem"], list(r["choices"]["text"]), list(r["choices"]["label"])
        gold = labels.index(r["answerKey"].strip())
        return self.choice_sample(stem, texts, gold, f"Question: {stem}\n{option_lines(texts)}\nAnswer:")


@register
class SocialIQa(ChoiceTask):
    name = "siqa"
    description = "Social IQa dev (Sap et al., 2019): social commonsense, 3 answers; labels from dev-labels.lst."
    source = Source("allenai/social_i_qa", None,
                    split=Split("validation", ("siqa/dev.jsonl", "dev.jsonl")),
                    fewshot=Split("train", ("siqa/train.jsonl", "train.jsonl")))
    license = "CC BY 4.0"
    items = 1954
    shuffle_fewshot = True
    loglikelihood_reference = "lm-eval siqa/siqa.yaml"
    generate_reference = "OpenCompass siqa_gen_18632c (SiqaDatasetV3)"

    def read_file(self, path: Path) -> list[dict]:
        """The original layout keeps the 1-based labels in an aligned ``<split>-labels.lst``."""
        labels = read_lines(path.with_name(path.name.replace(".jsonl", "-labels.lst")))
        return [{**row, "label": label} for row, label in zip(read_jsonl(path), labels, strict=True)]

    def parse(self, r: dict) -> Sample:
        answers = [r["answerA"], r["answerB"], r["answerC"]]
        prompt = f"{r['context']}\nQuestion: {r['question']}\n{option_lines(answers)}\nAnswer:"
        return self.choice_sample(f"Q: {r['context']} {r['question']}\nA:", answers, int(r["label"]) - 1, prompt)


@register
class StoryCloze(ChoiceTask):
    name = "storycloze"
    description = "XStoryCloze (Lin et al., 2021) English and Chinese eval splits as subsets en/zh: pick the story's ending."
    source = Source("juletxara/xstory_cloze", "{subset}", subsets=("en", "zh"), id_field="story_id",
                    split=Split("eval", ("xstory_cloze/{subset}_eval.jsonl", "{subset}_eval.jsonl")),
                    fewshot=Split("train", ("xstory_cloze/{subset}_train.jsonl", "{subset}_train.jsonl")))
    license = "CC BY-SA 4.0"
    items = 3022
    shuffle_fewshot = True
    loglikelihood_reference = "lm-eval xstorycloze/default_en.yaml, default_zh.yaml"
    generate_reference = "OpenCompass storycloze_gen_7f656a"

    def parse(self, r: dict) -> Sample:
        story = " ".join(r[f"input_sentence_{i}"] for i in range(1, 5))
        endings = [r["sentence_quiz1"], r["sentence_quiz2"]]
        prompt = (f"{story}\nQuestion: Which ending makes the most sense?\n{option_lines(endings)}\n"
                  "You may choose between 'A' and 'B'.\nAnswer:")
        return self.choice_sample(story, endings, int(r["answer_right_ending"]) - 1, prompt)

    def _groups(self, spec, split, subsets):  # ids are "<subset>/<story_id>": the same stories are in both languages
        return [(s, [{**r, "story_id": f"{s}/{r['story_id']}"} for r in rows])
                for s, rows in super()._groups(spec, split, subsets)]


@register
class RACE(ChoiceTask):
    name = "race"
    description = ("RACE reading comprehension (Lai et al., 2017), test splits middle (1,436) and high (3,498) as "
                   "subsets, one item per question; a data_dir holding only middle (as the shared bundle) reads middle.")
    source = Source("ehovy/race", "{subset}", subsets=("middle", "high"),
                    split=Split("test", ("race/test/{subset}.jsonl", "test/{subset}.jsonl")),
                    fewshot=Split("validation", ("race/validation/{subset}.jsonl", "validation/{subset}.jsonl")))
    license = "research use only (RACE terms)"
    items = 4934
    loglikelihood_reference = ("lm-eval race/race.yaml doc_to_text for one question (lm-eval groups an article's "
                               "questions into one document with the earlier ones answered in context)")
    generate_reference = "OpenCompass race_gen_69ee4f"

    def _subsets_to_read(self, spec: BenchmarkSpec) -> list[str]:
        subsets = super()._subsets_to_read(spec)
        if spec.data_dir and not spec.subsets:  # race-high is absent from some copies: read what is there
            data_dir = resolve_data_dir(spec.data_dir)
            present = []
            for s in subsets:
                try:
                    find(data_dir, *(f.replace("{subset}", s) for f in self.source.split.files))
                    present.append(s)
                except FileNotFoundError:
                    pass
            return present or subsets
        return subsets

    def parse(self, r: dict) -> Sample:
        options, gold = list(r["options"]), LETTERS.index(r["answer"])
        prompt = ("Read the article, and answer the question by replying A, B, C or D.\n\n"
                  f"Article:\n{r['article']}\n\nQ: {r['question']}\n\n{option_lines(options)}")
        return self.choice_sample(f"Article: {r['article']}\n\n{r['question']}", options, gold, prompt)
