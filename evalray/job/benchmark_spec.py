"""A job's benchmark entries: :class:`BenchmarkSpec` (a built-in benchmark by name, your own dataset with ``type:``
and ``path:``, or a ``collection:`` of benchmarks), with the arena and judge options of judged benchmarks. Every
field carries a description. Re-exported by :mod:`evalray.job.spec`."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator

from evalray.errors import did_you_mean
from evalray.job.base import StrictModel, check_name

MAX_TOKENS = 10_000_000

class AnchorSpec(StrictModel):
    model: str | None = Field(
        None, description="Model whose rating is fixed; default: the baseline (pairwise_baseline), else the mean.")
    rating: float = Field(1000.0, description="The anchor's rating on the Elo scale (400 points = 10:1 odds).")


class ArenaSpec(StrictModel):
    """How a judged benchmark compares models (``arena:`` of a benchmark entry; default: the benchmark's own)."""

    mode: Literal["single", "pairwise_baseline", "pairwise_all"] | None = Field(
        None, description="single: each answer graded on its own; pairwise_baseline: every model against `baseline`, "
        "both orders; pairwise_all: every pair of models, both orders. Default: the benchmark's own mode.")
    baseline: str | None = Field(None, description="pairwise_baseline: the name of the job model others are compared "
                                                   "with; default: the job's first model.")
    repeats: int = Field(1, ge=1, description="Judge calls per judgment and judge (a panel of one judge repeated).")
    aggregate: Literal["mean", "median", "majority"] = Field(
        "mean", description="How a sample's verdicts from several judges/repeats combine.")
    bootstrap: int = Field(1000, ge=0, description="Bootstrap resamples for the Bradley-Terry intervals (0: none).")
    seed: int = Field(0, description="Seed of the bootstrap resampling.")
    anchor: AnchorSpec = Field(default_factory=AnchorSpec, description="Which rating is fixed, and at what value.")
    style_control: bool = Field(False, description="Also fit Bradley-Terry with answer-length and markdown covariates "
                                                   "(Arena-Hard-Auto's style control).")
    self_judging: bool = Field(False, description="Let a judge judge its own answers (a judge and a model with the "
                                                  "same name or the same source and model id).")
    annotator: Literal["weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_gpt4"] | None = Field(
        None, description="alpaca_eval: the annotator (default weighted_alpaca_eval_gpt4_turbo, which needs judges "
        "that return log-probabilities: hf, vllm, or openai completions with echo+logprobs).")
    difficulty_file: str | None = Field(
        None, description="alpaca_eval: CSV of index,instruction_difficulty for the length-controlled GLM; default: "
        "fitted from the job's models (0 with one model).")


class JudgeStrategySpec(StrictModel):
    strategy: Literal["rule", "llm", "auto"] = Field(
        "rule", description="rule: the benchmark's own extractor; llm: a judge decides correctness against the "
        "target; auto: the rule, and the judge only where the rule finds no answer.")


GENERAL_TYPES = ("general_mcq", "general_qa")
QA_METRICS = ("exact_match", "f1", "rouge1", "rouge2", "rougeL", "bleu", "math_equiv")
SAMPLINGS = ("weighted", "stratified", "uniform")
# keys of a benchmark entry that only your own datasets (``type:``) have
GENERAL_KEYS = ("path", "dev_path", "columns", "template", "system_prompt", "metrics")


class ColumnsSpec(StrictModel):
    """Which columns of your own dataset hold what (``columns:`` of a ``type: general_*`` entry)."""

    question: str = Field("question", description="The column holding the question (or instruction).")
    answer: str = Field("answer", description="general_mcq: the right choice, a letter (A, B, ...) or a 0-based "
                        "index; general_qa: the reference answer, a string or a list of accepted answers.")
    choices: str | list[str] | None = Field(
        None, description="general_mcq: the choice columns (a list of column names) or one column holding a list of "
        "choices; default: the columns A, B, C, ... that the file has, else a column named 'choices'.")
    subset: str | None = Field(None, description="A column naming each row's subset (scores per subset); default: a "
                               "column named 'subset' when the file has one, else one subset per file of a directory.")
    id: str | None = Field(None, description="A column holding each row's own id (unique); default: a column named "
                           "'id' when the file has one and its values are unique, else the row index.")


class CollectionSpec(StrictModel):
    """Several benchmarks (or subsets of them) sampled into one scored set (``collection:`` of a benchmark entry)."""

    benchmarks: list[BenchmarkSpec] = Field(
        ..., min_length=1, max_length=256, description="The components, each a benchmark entry of its own (name, "
        "data_dir, subsets, limit, mode, or type/path for your own data). A component's label in results is its name, "
        "or name:subset+subset when the same benchmark appears twice.")
    weights: list[float] | dict[str, float] | None = Field(
        None, description="sampling weighted: each component's share, in the order of `benchmarks` or by label "
        "(2:1:1 = half the samples from the first); default: equal weights.")
    sampling: Literal["weighted", "stratified", "uniform"] = Field(
        "weighted", description="weighted: sizes in proportion to `weights`; stratified: in proportion to each "
        "component's own size; uniform: the same number from each component.")
    size: int | None = Field(
        None, ge=1, le=100_000_000, description="Samples in the collection; default: as many as the components allow "
        "(stratified: all of them).")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Seed of the sampling (the same seed, the same "
                             "samples); default: the job's seed.")

    @model_validator(mode="after")
    def _components(self) -> CollectionSpec:
        from evalray.job.judging_checks import fail

        for i, component in enumerate(self.benchmarks):
            if component.collection is not None:
                fail(("benchmarks", i, "collection"), "a collection cannot contain another collection", component.name)
            if component.judge is not None or component.arena is not None or component.judges is not None:
                fail(("benchmarks", i), "a collection's components are scored by their own rules (no judge, arena "
                     "or judges)", component.name)
        labels = collection_labels(self)
        duplicates = sorted({x for x in labels if labels.count(x) > 1})
        if duplicates:
            fail(("benchmarks",), f"component '{duplicates[0]}' appears twice; give the copies different subsets",
                 duplicates[0])
        weights = self.weights
        if weights is not None and self.sampling != "weighted":
            fail(("weights",), f"weights apply to sampling: weighted (this collection samples {self.sampling})",
                 weights)
        if isinstance(weights, list) and len(weights) != len(self.benchmarks):
            fail(("weights",), f"{len(weights)} weights for {len(self.benchmarks)} benchmarks", weights)
        if isinstance(weights, dict):
            unknown = [k for k in weights if k not in labels]
            if unknown:
                fail(("weights", unknown[0]), f"unknown component '{unknown[0]}'{did_you_mean(unknown[0], labels)}; "
                     f"the components are: {', '.join(labels)}", unknown[0])
        values = list(weights.values()) if isinstance(weights, dict) else list(weights or [])
        if any(w < 0 for w in values) or (values and not any(w > 0 for w in values)):
            fail(("weights",), "weights must be non-negative and not all zero", weights)
        return self

    def weight_list(self) -> list[float]:
        """One weight per component, in order (a component a dict of weights leaves out weighs 0)."""
        if self.weights is None:
            return [1.0] * len(self.benchmarks)
        if isinstance(self.weights, dict):
            return [float(self.weights.get(label, 0.0)) for label in collection_labels(self)]
        return [float(w) for w in self.weights]


def collection_labels(collection: CollectionSpec) -> list[str]:
    """Each component's label: its benchmark name, or name:subset+subset where the name appears more than once."""
    names = [c.name for c in collection.benchmarks]
    return [c.name if names.count(c.name) == 1 or not c.subsets else f"{c.name}:{'+'.join(c.subsets)}"
            for c in collection.benchmarks]


class BenchmarkSpec(StrictModel):
    name: str = Field(..., description="Benchmark name (see `evalray benchmarks`); with `type:` or `collection:`, a "
                      "name of your choosing (letters, digits and . _ - + = @ :).")
    limit: int | None = Field(
        None, ge=1, le=100_000_000, description="Evaluate only the first N samples of each subset, in file order."
    )
    few_shot: int | None = Field(None, ge=0, le=1000, description="Number of few-shot examples; default: the "
                                 "benchmark's own.")
    data_dir: str | None = Field(
        None, description="Local copy of the data (e.g. ../shared/data/gsm8k); default: the benchmark's hub dataset."
    )
    mode: Literal["loglikelihood", "generate"] | None = Field(
        None,
        description="Multiple-choice scoring: loglikelihood over the choices (default for base models) or generate "
        "(default for chat models; replay models always generate).",
    )
    subsets: list[str] | None = Field(None, description="Only these subsets (e.g. MMLU subjects); default: all.")
    repeats: int = Field(1, ge=1, le=1000, description="Generations per sample (pass@k needs k or more).")
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS, description="Override the benchmark's answer length.")
    judges: list[str] | None = Field(
        None, description="Names of the job's judges that judge this benchmark; default: every judge (a panel).")
    arena: ArenaSpec | None = Field(None, description="Judged benchmarks: arena mode, baseline, statistics.")
    judge: JudgeStrategySpec | None = Field(None, description="Generative benchmarks: who decides correctness.")
    type: Literal["general_mcq", "general_qa"] | None = Field(
        None, description="Your own dataset, no code: general_mcq (question, choices, answer letter or index; "
        "log-likelihood or generate mode) or general_qa (question and reference answers), read from `path`.")
    path: str | None = Field(
        None, description="general_*: a CSV, JSONL or Parquet file, or a directory of them (one subset per file; files "
        "named <subset>_dev.* are the few-shot split).")
    dev_path: str | None = Field(
        None, description="general_*: a file or directory of few-shot examples in the same layout; default: the "
        "*_dev files under a directory `path`.")
    columns: ColumnsSpec | None = Field(None, description="general_*: which columns hold the question, choices, "
                                        "answer, subset and id; default: those names.")
    template: str | None = Field(
        None, description="general_*: the prompt of one item, as Python str.format ('Q: {question}') or Jinja2 "
        "('{{ question }}'); fields: question, choices (general_mcq: the lettered choices, one a line), subset and any "
        "column of the file. Default: lm-evaluation-harness style ('{question}\\n{choices}\\nAnswer:').")
    system_prompt: str | None = Field(
        None, description="general_*: a system message for chat models (the text before the prompt otherwise).")
    metrics: list[Literal["exact_match", "f1", "rouge1", "rouge2", "rougeL", "bleu", "math_equiv"]] | None = Field(
        None, min_length=1, description="general_qa: how an answer is scored against the references, best over them: "
        "exact_match and f1 (SQuAD normalisation), rouge1/rouge2/rougeL (rouge-score F1), bleu (sacrebleu, 0-1), "
        "math_equiv (math-verify); the first is the primary metric. Default: exact_match, f1.")
    collection: CollectionSpec | None = Field(
        None, description="Mix several benchmarks into one scored set: components, weights, sampling and seed; "
        "results per component (subset rows) and overall.")

    @model_validator(mode="after")
    def _kind(self) -> BenchmarkSpec:
        from evalray.job.judging_checks import fail

        given = [key for key in GENERAL_KEYS if getattr(self, key) is not None]
        if self.collection is not None or self.type is not None:
            try:
                check_name(self.name)
            except ValueError as exc:
                fail(("name",), str(exc), self.name)
            if self.name in known_benchmarks():
                fail(("name",), f"'{self.name}' is a built-in benchmark; give your own set another name", self.name)
        if self.collection is not None:
            clash = [k for k in ("type", *GENERAL_KEYS, "data_dir", "subsets", "limit", "few_shot", "max_tokens")
                     if getattr(self, k) is not None] + (["repeats"] if self.repeats != 1 else [])
            if clash:
                fail((clash[0],), f"a collection takes `{clash[0]}` on each of its benchmarks, not on itself",
                     getattr(self, clash[0]))
            judged = [k for k in ("judge", "arena", "judges") if getattr(self, k) is not None]
            if judged:
                fail((judged[0],), "a collection is scored by its components' own rules (no judge, arena or judges)",
                     str(getattr(self, judged[0])))
            return self
        if self.type is None:
            names = known_benchmarks()
            if names and self.name not in names:
                fail(("name",), f"unknown benchmark '{self.name}'{did_you_mean(self.name, names)}", self.name)
            if given:
                fail((given[0],), f"`{given[0]}` applies to your own datasets (type: general_mcq | general_qa)",
                     getattr(self, given[0]))
            return self
        if self.path is None:
            fail(("path",), f"type: {self.type} needs `path` (a CSV, JSONL or Parquet file, or a directory)", None)
        if self.data_dir is not None:
            fail(("data_dir",), "your own datasets are read from `path`, not `data_dir`", self.data_dir)
        if self.type == "general_qa" and self.mode == "loglikelihood":
            fail(("mode",), "general_qa is generative (mode: generate); log-likelihood scoring is for general_mcq",
                 self.mode)
        if self.metrics is not None and self.type != "general_qa":
            fail(("metrics",), "metrics apply to type: general_qa (general_mcq scores acc)", self.metrics)
        if self.template is not None:
            from evalray.job.templates import check_template

            problem = check_template(self.template)
            if problem:
                fail(("template",), problem, self.template)
        return self


@lru_cache(maxsize=1)
def known_benchmarks() -> tuple[str, ...]:
    """Every benchmark name a job may use: the union of the callables registered in the ``evalray.benchmarks``
    entry-point group (evalray's own registry, and any installed package that adds benchmarks). Looked up through
    the entry points, so this layer never imports the benchmark implementations."""
    from importlib.metadata import entry_points

    names: set[str] = set()
    for entry in entry_points(group="evalray.benchmarks"):
        names.update(entry.load()())
    return tuple(sorted(names))


CollectionSpec.model_rebuild()
BenchmarkSpec.model_rebuild()
