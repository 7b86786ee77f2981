"""The ``workload:`` block of a ``kind: perf`` job: what each request carries and (for traces) when it is sent.

``type`` picks one of :class:`SyntheticWorkload` (random prompts of lengths drawn from distributions),
:class:`MultiTurnWorkload` (chat sessions whose context grows turn by turn), :class:`SharedPrefixWorkload` (groups of
requests sharing a prefix of exact token length), :class:`TraceWorkload` (a replayed request trace) and
:class:`BenchmarkWorkload` (a benchmark's requests, every answer scored: quality under load). Lengths are a
:class:`Distribution`, written in full or as a short string (``"128"``, ``"uniform:64,256"``, ``"normal:200,50"``,
``"lognormal:200,0.5"``, ``"empirical:lengths.txt"``, optionally followed by ``,min=N,max=N``). :mod:`evalray.loadgen`
draws from them (:mod:`evalray.loadgen.lengths`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_TOKENS = 10_000_000
MAX_SESSIONS = 1_000_000
MAX_TURNS = 1_000
MAX_TRACE_REQUESTS = 1_000_000
DIST_KINDS = ("fixed", "uniform", "normal", "lognormal", "empirical")
_POSITIONAL = {"fixed": ("value",), "uniform": ("low", "high"), "normal": ("mean", "std"),
               "lognormal": ("mean", "sigma"), "empirical": ("file",)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def parse_distribution(text: Any) -> Any:
    """``"uniform:64,256,max=200"`` / ``"128"`` / ``128`` -> the mapping of a :class:`Distribution` (a mapping or a
    :class:`Distribution` passes through)."""
    if isinstance(text, bool):
        raise ValueError("expected a number, a distribution such as 'normal:200,50' or a mapping")
    if isinstance(text, (int, float)):
        return {"dist": "fixed", "value": text}
    if not isinstance(text, str):
        return text
    kind, sep, rest = text.strip().partition(":")
    if not sep:
        try:
            return {"dist": "fixed", "value": float(kind)}
        except ValueError:
            raise ValueError(f"{text!r}: expected a number or KIND:ARGS with KIND one of {', '.join(DIST_KINDS)}") \
                from None
    kind = kind.strip()
    if kind not in _POSITIONAL:
        raise ValueError(f"{text!r}: unknown distribution {kind!r} (one of {', '.join(DIST_KINDS)})")
    data: dict[str, Any] = {"dist": kind}
    names = iter(_POSITIONAL[kind])
    parts = [rest.strip()] if kind == "empirical" and "=" not in rest else rest.split(",")
    for part in (p.strip() for p in parts if p.strip()):
        name, eq, value = part.partition("=")
        if not eq:
            name, value = next(names, ""), part
            if not name:
                raise ValueError(f"{text!r}: too many values for {kind} (expected {', '.join(_POSITIONAL[kind])})")
        data[name.strip()] = value.strip()
    return data


class Distribution(_Strict):
    """A distribution of lengths (tokens) or durations (seconds); draws are clipped to ``[min, max]`` (token counts
    are rounded to integers)."""

    dist: Literal["fixed", "uniform", "normal", "lognormal", "empirical"] = Field(
        "fixed", description="fixed (value), uniform (low..high, inclusive), normal (mean, std), lognormal (mean of "
        "the draws and shape sigma: log-values are normal(ln(mean) - sigma^2/2, sigma)), or empirical (values drawn "
        "with replacement from a file of numbers, one per line).")
    value: float | None = Field(None, ge=0, description="fixed: the value.")
    low: float | None = Field(None, ge=0, description="uniform: lowest value.")
    high: float | None = Field(None, ge=0, description="uniform: highest value.")
    mean: float | None = Field(None, ge=0, description="normal / lognormal: mean of the draws (before clipping).")
    std: float | None = Field(None, ge=0, description="normal: standard deviation.")
    sigma: float | None = Field(None, ge=0, le=10, description="lognormal: standard deviation of the log-values.")
    file: str | None = Field(None, description="empirical: a text file with one number per line (# comments and "
                             "blank lines skipped).")
    min: float | None = Field(None, ge=0, description="Draws below this are raised to it (token counts: at least "
                              "1 by default).")
    max: float | None = Field(None, ge=0, description="Draws above this are lowered to it.")

    @model_validator(mode="after")
    def _parameters(self) -> "Distribution":
        needed = {"fixed": ("value",), "uniform": ("low", "high"), "normal": ("mean", "std"),
                  "lognormal": ("mean", "sigma"), "empirical": ("file",)}[self.dist]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.dist} needs {' and '.join(missing)}")
        extra = [n for n in ("value", "low", "high", "mean", "std", "sigma", "file")
                 if n not in needed and getattr(self, n) is not None]
        if extra:
            raise ValueError(f"{self.dist} takes no {', '.join(extra)} (it takes {', '.join(needed)}, min, max)")
        if self.dist == "uniform" and self.low > self.high:  # type: ignore[operator]
            raise ValueError("uniform: low must not exceed high")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


def _dist_field(default: Any, description: str) -> Any:
    return Field(default_factory=lambda: Distribution.model_validate(parse_distribution(default)),
                 description=description)


class _WithDistributions(_Strict):
    @field_validator("input_tokens", "output_tokens", "turns", "think_time_s", "suffix_tokens", mode="before",
                     check_fields=False)
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return parse_distribution(value)


class SyntheticWorkload(_WithDistributions):
    """Random prompts whose lengths (exact, for ``prompts.tokenizer``) and max_tokens follow distributions."""

    type: Literal["synthetic"] = Field("synthetic", description="Random prompts with drawn lengths.")
    input_tokens: Distribution = _dist_field(128, "Prompt length in tokens.")
    output_tokens: Distribution = _dist_field(128, "max_tokens of each request.")
    prompts: int = Field(1000, ge=1, le=1_000_000, description="Distinct prompts made (requests cycle through them).")


class MultiTurnWorkload(_WithDistributions):
    """Chat sessions: each turn's request carries the whole conversation so far, the server's earlier answers (the
    text it streamed) included. ``load.concurrency`` counts sessions in flight (closed loop: a user runs one session
    after another) and ``load.rate`` is session arrivals per second (open loop)."""

    type: Literal["multi_turn"] = Field("multi_turn", description="Multi-turn chat sessions.")
    sessions: int = Field(20, ge=1, le=MAX_SESSIONS, description="Sessions per run point (replaces "
                          "load.num_requests; load.duration_s still bounds a run point).")
    warmup_sessions: int = Field(0, ge=0, le=MAX_SESSIONS, description="Sessions run first and left out of every "
                                 "figure.")
    turns: Distribution = _dist_field(3, "User turns per session (synthetic sessions).")
    max_turns: int = Field(20, ge=1, le=MAX_TURNS, description="Most turns of a session (also caps conversations "
                           "from a file).")
    input_tokens: Distribution = _dist_field(64, "Tokens of each user message (synthetic sessions).")
    output_tokens: Distribution = _dist_field(64, "max_tokens of each turn (synthetic sessions; from a file, "
                                              "when the file's answers are not used).")
    think_time_s: Distribution = _dist_field(0, "Seconds between the end of a turn's answer and the next turn.")
    conversations: str | None = Field(None, description="A ShareGPT-format .json file (a list of {'conversations': "
                                      "[{'from': 'human'|'gpt', 'value': ...}]}): its human messages are the user "
                                      "turns; its gpt messages set each turn's max_tokens (their token count), the "
                                      "server's own answers are what the next turn carries.")
    pool: int = Field(1000, ge=1, le=MAX_SESSIONS, description="Distinct sessions made (run points cycle through "
                      "them).")
    system_prompt: str | None = Field(None, description="A system message first in every conversation.")


class SharedPrefixWorkload(_WithDistributions):
    """Groups of prompts that share a prefix of exactly ``prefix_tokens`` tokens (then a suffix drawn per prompt);
    requests cycle through the prompts, alternating groups (prompt ``p`` is in group ``p mod groups``)."""

    type: Literal["shared_prefix"] = Field("shared_prefix", description="Groups of prompts with a shared prefix.")
    groups: int = Field(8, ge=1, le=100_000, description="Number of prefix groups.")
    prefix_tokens: int = Field(512, ge=1, le=MAX_TOKENS, description="Tokens of each group's shared prefix.")
    suffix_tokens: Distribution = _dist_field(64, "Tokens of each prompt's own suffix.")
    prompts_per_group: int = Field(16, ge=1, le=100_000, description="Distinct prompts (suffixes) per group.")
    output_tokens: Distribution = _dist_field(128, "max_tokens of each request.")


class TraceWorkload(_Strict):
    """Replay a trace: one request per row, sent at the row's timestamp (open loop, exactly on schedule) with its
    input and output lengths (or its own prompt). ``load.rate`` / ``load.concurrency`` do not apply."""

    type: Literal["trace"] = Field("trace", description="Replay a trace file.")
    file: str = Field(..., description="JSONL or CSV trace: timestamp, input tokens, output tokens, optional "
                      "session id and prompt.")
    format: Literal["auto", "generic", "azure", "mooncake"] = Field(
        "auto", description="auto (from the columns), generic (timestamp s, input_tokens, output_tokens, "
        "session_id, prompt), azure (CSV TIMESTAMP, ContextTokens, GeneratedTokens) or mooncake (JSONL timestamp "
        "ms, input_length, output_length, hash_ids).")
    speed: list[Annotated[float, Field(gt=0, le=1e6)]] = Field(
        default_factory=lambda: [1.0], min_length=1, max_length=100,
        description="Time scaling: 2.0 replays twice as fast (gaps halved); a list is a sweep.")
    max_requests: int | None = Field(None, ge=1, le=MAX_TRACE_REQUESTS, description="Replay only the first N rows.")
    max_duration_s: float | None = Field(None, gt=0, le=7 * 86_400, description="Replay only rows within this "
                                         "many seconds of the first (after scaling).")
    block_tokens: int = Field(512, ge=1, le=1_000_000, description="mooncake: tokens per hash_ids block (rows with "
                              "the same hash id share that block's tokens, so prefix caching sees the trace's reuse).")

    @field_validator("speed", mode="before")
    @classmethod
    def _one_speed(cls, value: Any) -> Any:
        return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class BenchmarkWorkload(_Strict):
    """Quality under load: a benchmark's own requests (generative; chat or completions as ``target.api``), sent
    under ``load`` (a sweep of rates or concurrencies), every answer scored with the benchmark's scorer; each run
    point reports accuracy next to its latency figures, from the same requests."""

    type: Literal["benchmark"] = Field("benchmark", description="A benchmark's requests, scored.")
    name: str = Field(..., min_length=1, description="The benchmark (gsm8k, mmlu, ...; `evalray benchmarks`).")
    data_dir: str | None = Field(None, description="Local data of the benchmark (default: its hub dataset).")
    limit: int | None = Field(None, ge=1, le=100_000_000, description="The first N samples of each subset.")
    few_shot: int | None = Field(None, ge=0, le=64, description="Few-shot examples (default: the benchmark's).")
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS, description="max_tokens of every request (default: "
                                   "the benchmark's).")


WORKLOAD_TYPES = {"synthetic": SyntheticWorkload, "multi_turn": MultiTurnWorkload,
                  "shared_prefix": SharedPrefixWorkload, "trace": TraceWorkload, "benchmark": BenchmarkWorkload}
Workload = Annotated[Union[SyntheticWorkload, MultiTurnWorkload, SharedPrefixWorkload, TraceWorkload,
                           BenchmarkWorkload],
                     Field(discriminator="type")]
