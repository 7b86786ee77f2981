"""Your own datasets, no code: ``type: general_mcq`` and ``type: general_qa`` benchmark entries.

* ``general_mcq`` — question, choices (columns ``A``..``Z`` or one list column) and answer (a letter or a 0-based
  index). Log-likelihood mode is lm-evaluation-harness's MMLU prompt (``question``, lettered choices, ``Answer:``,
  continuations `` A``, `` B``, ...); generate mode is evalray's ``ANSWER: X`` prompt with tolerant extraction.
* ``general_qa`` — question and reference answer(s), scored by ``metrics`` (exact match, F1, ROUGE, BLEU, math
  equivalence), or by the job's judges with ``judge: {strategy: llm | auto}``.

The entry's ``columns`` map the file's columns, ``template`` (str.format or Jinja2, :mod:`evalray.job.templates`)
writes one item, ``system_prompt`` opens it, ``few_shot`` examples come from the ``*_dev`` files (or ``dev_path``).
Every row is checked as it is read: a problem is one line naming the file, the row and the column.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalray.benchmarks._general_io import Row, dataset_files, read_rows, string_list, text
from evalray.benchmarks._source import Source, Split, own_ids
from evalray.benchmarks.base import (LETTERS, Benchmark, MultipleChoice, _row_ids, chat_request,
                                    completion_request)
from evalray.errors import ConfigError
from evalray.job import templates
from evalray.job.spec import BenchmarkSpec, ColumnsSpec
from evalray.scoring import extract, math_equiv, text_metrics, text_norm
from evalray.types import Generation, Request, Sample, Score

MCQ_TEMPLATE = "{question}\n{choices}\nAnswer:"  # lm-evaluation-harness mmlu (choices: "A. text" lines)
QA_TEMPLATE = "Question: {question}\nAnswer:"
SHORT_ANSWER = ("Answer the question. Write the final answer on the last line as 'ANSWER: <answer>'.\n\n")
LONG_FORM = ("rouge1", "rouge2", "rougeL", "bleu")
_MARKED = re.compile(r"ANSWER\s*[:：]\s*(.+)", re.IGNORECASE)
_RESERVED = ("question", "choices", "subset", "answer")


class _General(Benchmark):
    """What both general types share: reading ``path``/``dev_path`` into samples, ids, caching per instance."""

    def __init__(self, spec: BenchmarkSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.columns = spec.columns or ColumnsSpec()
        self.source = Source(str(spec.path), split=Split("test"), fewshot=Split("dev"))
        self.description = f"{spec.type} from {spec.path}"
        self.extra_fields = tuple(f for f in templates.fields(spec.template) if f not in _RESERVED) if spec.template else ()
        self._cache: dict[tuple[str, bool], list[Sample]] = {}
        self._plans: dict[tuple[str, int], Any] = {}

    # ---- reading ---------------------------------------------------------------------------------------------------
    def read(self, spec: BenchmarkSpec, fewshot: bool = False) -> list[Sample]:
        key = (spec.model_dump_json(), fewshot)
        if key not in self._cache:
            self._cache[key] = self._read(fewshot)
        return list(self._cache[key])

    def _read(self, fewshot: bool) -> list[Sample]:
        path = Path(self.spec.path or "").expanduser()
        if fewshot and self.spec.dev_path:
            files = dataset_files(Path(self.spec.dev_path).expanduser(), dev=False)
        elif fewshot:
            files = dataset_files(path, dev=True) if path.is_dir() else []
        else:
            files = dataset_files(path, dev=False)
        rows: list[Row] = []
        drafts: list[Sample] = []
        for file_subset, file in files:
            for row in read_rows(file):
                sample = self.parse_row(row)
                if sample.subset is None and file_subset is not None:
                    sample = replace(sample, subset=file_subset)
                rows.append(row)
                drafts.append(sample)
        if not drafts and not fewshot:
            raise ConfigError(f"benchmark {self.name}: {path} has no rows")
        ids = self._own_ids(rows) or _row_ids(drafts)
        return [replace(sample, id=sample_id) for sample, sample_id in zip(drafts, ids)]

    def _own_ids(self, rows: list[Row]) -> list[str] | None:
        column = self.columns.id or "id"
        if self.columns.id:
            for row in rows:
                text(row, column)  # a declared id column must be there in every row
            ids = own_ids([r.values for r in rows], column)
            if ids is None:
                seen: dict[str, Row] = {}
                for row in rows:
                    value = str(row.values[column])
                    if value in seen:
                        raise row.error(column, f"id '{value}' repeats {seen[value].where()}")
                    seen[value] = row
            return ids
        return own_ids([r.values for r in rows], column) if rows and all(column in r.values for r in rows) else None

    def parse_row(self, row: Row) -> Sample:
        raise NotImplementedError

    def row_subset(self, row: Row) -> str | None:
        column = self.columns.subset or ("subset" if "subset" in row.values else None)
        return text(row, column) if column else None

    def row_fields(self, row: Row) -> dict[str, str]:
        """The extra columns the template names, as text (a column the row lacks is an error)."""
        return {name: text(row, name, required=False) if name in row.values else text(row, name)
                for name in self.extra_fields}

    def fewshot_pool(self, spec: BenchmarkSpec) -> dict[str | None, list[Sample]]:
        try:
            return super().fewshot_pool(spec)
        except ConfigError:
            raise ConfigError(f"benchmark {self.name}: few_shot: {self.few_shot(spec)} needs examples: <subset>_dev "
                              "files beside the scored ones in a directory `path`, or `dev_path`") from None

    # ---- caching per instance (the base caches per class, and these classes differ per entry) ----------------------
    def load(self, spec: BenchmarkSpec) -> list[Sample]:
        return self._load(spec)

    def plan(self, spec: BenchmarkSpec, seed: int):
        key = (spec.model_dump_json(), seed)
        if key not in self._plans:
            self._plans[key] = self._plan(spec, seed)
        return list(self._plans[key])

    # ---- prompts ---------------------------------------------------------------------------------------------------
    def values(self, sample: Sample) -> dict[str, Any]:
        return {"question": sample.input, "subset": sample.subset or "", **sample.metadata.get("fields", {})}

    def render(self, template: str, sample: Sample) -> str:
        try:
            return templates.render(template, self.values(sample))
        except KeyError as exc:
            raise ConfigError(f"benchmark {self.name}: template: unknown field {exc}") from None

    def chat_messages(self, turns: list[tuple[str, str]], last: str, lead: str = "") -> list[dict[str, str]]:
        """System prompt, the few-shot turns (question, answer) and the question; ``lead`` opens the first user turn."""
        messages = [{"role": "system", "content": self.spec.system_prompt}] if self.spec.system_prompt else []
        for question, answer in turns:
            messages += [{"role": "user", "content": lead + question}, {"role": "assistant", "content": answer}]
            lead = ""
        return messages + [{"role": "user", "content": lead + last}]

    def preamble(self, sample: Sample) -> str:
        return self.spec.system_prompt + "\n\n" if self.spec.system_prompt else ""

    def info(self) -> dict[str, Any]:
        return {**super().info(), "type": self.spec.type, "path": self.spec.path}


class GeneralMCQ(_General, MultipleChoice):
    metrics = ("acc",)

    def parse_row(self, row: Row) -> Sample:
        question = text(row, self.columns.question).strip()
        choices = self._choices(row)
        gold = self._gold(row, len(choices))
        return self.sample(question, target=str(gold), choices=tuple(choices), subset=self.row_subset(row),
                           metadata={"fields": self.row_fields(row)} if self.extra_fields else None)

    def _choices(self, row: Row) -> list[str]:
        spec = self.columns.choices
        if isinstance(spec, str):
            choices = string_list(row, spec)
            column = spec
        else:
            names = spec or [c for c in LETTERS if c in row.values]
            if not names and "choices" in row.values:
                choices, column = string_list(row, "choices"), "choices"
            elif not names:
                raise row.error(None, "no choice columns (A, B, C, ... or a 'choices' list); map them with "
                                "`columns: {choices: [...]}`")
            else:
                choices = [text(row, name, required=False) for name in names]
                for name in names:
                    if name not in row.values:
                        text(row, name)  # raises: no such column
                while choices and not choices[-1].strip():  # fewer choices in this row than columns in the file
                    choices.pop()
                empty = [n for n, c in zip(names, choices) if not c.strip()]
                if empty:
                    raise row.error(empty[0], "empty choice before a non-empty one")
                column = names[0]
        if len(choices) < 2:
            raise row.error(column, f"{len(choices)} choice(s); a multiple-choice row needs at least 2")
        if len(choices) > len(LETTERS):
            raise row.error(column, f"{len(choices)} choices; at most {len(LETTERS)}")
        return choices

    def _gold(self, row: Row, n: int) -> int:
        column = self.columns.answer
        value = row.values.get(column)
        raw = value if isinstance(value, int) and not isinstance(value, bool) else text(row, column).strip()
        if isinstance(raw, int) or raw.lstrip("-").isdigit():
            index = int(raw)
        elif len(raw) == 1 and raw.upper() in LETTERS:
            index = LETTERS.index(raw.upper())
        else:
            raise row.error(column, f"'{raw}' is neither a letter ({LETTERS[0]}-{LETTERS[n - 1]}) nor a 0-based index")
        if not 0 <= index < n:
            raise row.error(column, f"'{raw}' is out of range for {n} choices ({LETTERS[0]}-{LETTERS[n - 1]} or "
                            f"0-{n - 1})")
        return index

    def context(self, sample: Sample) -> str:
        return self.render(self.spec.template or MCQ_TEMPLATE, sample)

    def continuations(self, sample: Sample) -> list[str]:
        return list(LETTERS[: len(sample.choices)])

    def values(self, sample: Sample) -> dict[str, Any]:
        choices = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(sample.choices))
        return {**super().values(sample), "choices": choices}

    def generate_request(self, sample: Sample, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        def item(s: Sample) -> str:
            return self.render(self.spec.template, s) if self.spec.template else extract.mc_question(s.input, s.choices)

        instruction = extract.MC_INSTRUCTION.format(letters=LETTERS[: len(sample.choices)])
        if chat:
            turns = [(item(s), f"ANSWER: {LETTERS[self.gold(s)]}") for s in shots]
            return chat_request(self.chat_messages(turns, item(sample), lead=instruction + "\n\n"), max_tokens=512)
        shot_text = "".join(item(s) + f"\n\nANSWER: {LETTERS[self.gold(s)]}\n\n" for s in shots)
        text_ = self.preamble(sample) + instruction + "\n\n" + shot_text + item(sample)
        return completion_request(text_ + "\n\nANSWER:", max_tokens=8, stop=("\n",))


class GeneralQA(_General):
    def __init__(self, spec: BenchmarkSpec) -> None:
        super().__init__(spec)
        self.metrics = tuple(spec.metrics or ("exact_match", "f1"))
        self.short = not set(self.metrics) <= set(LONG_FORM)  # a short final answer is asked for (ANSWER: ...)
        text_metrics.require(self.metrics)

    def parse_row(self, row: Row) -> Sample:
        question = text(row, self.columns.question).strip()
        answers = [a for a in string_list(row, self.columns.answer) if a.strip()]
        if not answers:
            raise row.error(self.columns.answer, "no reference answer")
        metadata: dict[str, Any] = {"answers": answers}
        if self.extra_fields:
            metadata["fields"] = self.row_fields(row)
        return self.sample(question, target=answers[0], subset=self.row_subset(row), metadata=metadata)

    def request(self, sample: Sample, mode: str, chat: bool, shots: list[Sample], spec: BenchmarkSpec) -> Request:
        if chat:
            def item(s: Sample) -> str:
                return self.render(self.spec.template or "{question}", s)

            turns = [(item(s), f"ANSWER: {s.target}" if self.short else s.target) for s in shots]
            lead = SHORT_ANSWER if self.short else ""
            return chat_request(self.chat_messages(turns, item(sample), lead=lead), max_tokens=256)
        template = self.spec.template or QA_TEMPLATE
        shot_text = "".join(self.render(template, s) + f" {s.target}\n\n" for s in shots)
        return completion_request(self.preamble(sample) + shot_text + self.render(template, sample), max_tokens=256,
                                  stop=("\n\n", "\nQuestion:"))

    def score(self, sample: Sample, generation: Generation, mode: str) -> Score:
        output = generation.text or ""
        marked = _MARKED.findall(output)
        answer = (marked[-1] if marked else output).strip()
        golds = list(sample.metadata.get("answers") or [sample.target])
        values: dict[str, float | list[float]] = {}
        for metric in self.metrics:
            if metric == "exact_match":
                values[metric] = text_norm.exact_match(answer, golds)
            elif metric == "f1":
                values[metric] = text_norm.max_f1(answer, golds)
            elif metric == "bleu":
                values[metric] = text_metrics.bleu(answer, golds)
            elif metric == "math_equiv":
                values[metric] = float(any(_same_text(gold, answer) or math_equiv.is_equiv(gold, answer)[0]
                                           for gold in golds))
            elif metric.startswith("rouge") and metric not in values:
                values.update({k: v for k, v in text_metrics.rouge(answer, golds).items() if k in self.metrics})
        return Score(values={m: values[m] for m in self.metrics}, extracted=answer or None)  # None: a judge (auto)


def _same_text(a: str, b: str) -> bool:
    """Identical up to whitespace (answers math-verify cannot parse, e.g. words, still count)."""
    return "".join(a.split()) == "".join(b.split())


def general_benchmark(spec: BenchmarkSpec) -> Benchmark:
    """The benchmark of a ``type: general_mcq | general_qa`` entry."""
    return GeneralMCQ(spec) if spec.type == "general_mcq" else GeneralQA(spec)
