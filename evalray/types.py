"""The typed contract that every part of evalray shares.

A :class:`Sample` is one item of a benchmark. A benchmark turns it into a :class:`Request` (what to ask a model), a
model backend answers with a :class:`Generation`, and the benchmark's scorer turns the pair into a :class:`Score`.
:class:`RequestRecord` is the raw per-request record of the load generator (``evalray perf``).

Rows that travel through Ray Data follow the one schema of :mod:`evalray.rows` (declared columns, Arrow types), so
no stage depends on pickled classes or on row order: every row carries the sample's stable ``uid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RequestKind = Literal["generate", "loglikelihood"]


@dataclass(frozen=True)
class Sample:
    """One benchmark item.

    ``id`` follows one rule, applied in one place (:meth:`evalray.benchmarks.base.Benchmark.samples`):

    * the dataset's own id field, verbatim (as a string), where the benchmark declares one (``Source.id_field``) and
      every record of the split has a value, unique over the benchmark's split: MATH-500 ``unique_id``
      (``"test/algebra/1004.json"``), HumanEval/MBPP ``task_id``, IFEval ``key``, ARC ``id``, BoolQ ``idx``,
      HellaSwag ``ind``, TriviaQA ``question_id``, WinoGrande ``qID``;
    * otherwise the 0-based row index within its subset in file order, prefixed by the subset for benchmarks with
      subsets (``"abstract_algebra/3"``, ``"navigate/0"``) and bare otherwise (GSM8K ``"12"``). Per-subject id
      columns that repeat across subjects (C-Eval ``id``, CMMLU's index column) are row indices of this kind.

    A replay line's ``"id"`` is this id; ``uid`` adds the benchmark name.
    """

    id: str
    benchmark: str
    subset: str | None
    input: str
    target: str
    choices: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def uid(self) -> str:
        return f"{self.benchmark}::{self.id}"


@dataclass(frozen=True)
class Request:
    """What to ask a model about one sample.

    ``generate``: complete ``prompt`` (or answer ``messages`` for chat models) until a ``stop`` string.
    ``loglikelihood``: the log-probability of each continuation given ``prompt`` as context.
    """

    kind: RequestKind
    prompt: str = ""
    messages: tuple[dict[str, str], ...] = ()
    continuations: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    repeats: int = 1
    uid: str = ""  # the sample's uid, for backends that look answers up (replay)
    # loglikelihood with per-choice contexts (WinoGrande partial scoring): when non-empty, continuation i is scored
    # given contexts[i] instead of ``prompt``; len(contexts) == len(continuations).
    contexts: tuple[str, ...] = ()
    # 0-based conversation turn of a multi-turn benchmark (MT-Bench turn 2 is 1; its messages hold the model's own
    # turn-1 answer); replay answers it with the recorded output of that turn
    turn: int = 0


@dataclass
class Generation:
    """A model's answer to one request."""

    texts: list[str] = field(default_factory=list)
    loglikelihoods: list[float] = field(default_factory=list)
    is_greedy: list[bool] = field(default_factory=list)
    continuation_tokens: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""


@dataclass
class Score:
    """A scored sample: metric name -> value, and the answer the extractor found. A value may be a list of
    observations that the aggregate pools across samples (IFEval's instruction-level accuracy)."""

    values: dict[str, float | list[float]]
    extracted: str | None = None


@dataclass
class RequestRecord:
    """One request sent by the load generator (``evalray perf``), with raw timestamps in seconds since the run's
    common start (each worker's ``time.perf_counter`` mapped onto that start).

    ``chunk_times`` holds the receive time of every SSE event that carried generated text; ``chunks`` is its length.
    Token counts come from the server's ``usage`` when it sends one, else from a tokenizer (or the chunk count).
    ``error`` is ``None`` for a successful request, else its kind (``http_500``, ``timeout``, ``truncated``, ...).
    ``warmup`` requests are excluded from every figure."""

    request_id: int
    worker: int
    intended_send: float
    actual_send: float
    chunk_times: list[float]
    end: float
    status: int
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    chunks: int
    warmup: bool = False
