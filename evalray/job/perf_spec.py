"""The ``kind: perf`` job spec (also built from the ``evalray perf`` command-line flags) and its SLO syntax.

Like every job kind it derives from :class:`~evalray.job.base.JobBase`; :mod:`evalray.loadgen` runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from evalray.errors import ConfigError
from evalray.job.base import JobBase, SafeName
from evalray.job.perf_workload import Workload

STAT_KEYS = ("mean", "std", "min", "p50", "p90", "p95", "p99", "p99.9", "max")
SLO_METRICS = ("ttft", "tpot", "itl", "e2e", "queue")
_UNITS_MS = {"ms": 1.0, "s": 1000.0, "us": 0.001}
MAX_REQUESTS_PER_POINT = 10_000_000  # the hard cap of every run point, whatever the rate, duration or concurrency
MAX_DURATION_S = 7 * 86_400.0
MAX_RATE = 1e12
MAX_TIMEOUT_S = 86_400.0
Rate = Annotated[float, Field(gt=0, le=MAX_RATE, allow_inf_nan=False)]
Concurrency = Annotated[int, Field(ge=1, le=2**40)]


@dataclass(frozen=True)
class Slo:
    """A service-level objective: ``stat`` of ``metric`` (milliseconds) must not exceed ``threshold_ms``."""

    metric: str
    stat: str
    threshold_ms: float

    @property
    def key(self) -> str:
        return f"{self.metric}_{self.stat}"


def parse_slos(text: str | dict[str, str] | None) -> list[Slo]:
    """``"ttft_p99=500ms,tpot_p99=50ms"`` (or the same as a mapping) -> SLOs. Units: ms (default), s, us."""
    if not text:
        return []
    items = text.items() if isinstance(text, dict) else (p.split("=", 1) for p in text.split(",") if p.strip())
    slos = []
    for item in items:
        if len(item) != 2:
            raise ConfigError(f"--slo: expected METRIC_STAT=VALUE, e.g. ttft_p99=500ms (got {'='.join(item)!r})")
        key, value = (str(part).strip() for part in item)
        metric, _, stat = key.partition("_")
        if metric not in SLO_METRICS or stat not in STAT_KEYS:
            raise ConfigError(f"--slo {key}: expected <{'|'.join(SLO_METRICS)}>_<{'|'.join(STAT_KEYS)}>")
        match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*(ms|s|us)?", value)
        if not match:
            raise ConfigError(f"--slo {key}={value}: expected a duration such as 500ms or 0.5s")
        slos.append(Slo(metric, stat, float(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]))
    return slos


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TargetSpec(_Strict):
    url: str = Field(..., description="Endpoint URL: a base such as http://127.0.0.1:8000/v1, or the full "
                     "/v1/chat/completions or /v1/completions URL.")
    model: str = Field(..., min_length=1, description="Model name sent in every request.")
    api: Literal["chat", "completions"] = Field("chat", description="Which endpoint a base URL gets: "
                                                "/chat/completions or /completions (a full URL decides by itself).")
    stream: bool = Field(True, description="Stream the answer (SSE); TTFT, TPOT and ITL need streaming.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers sent with every request.")
    api_key_env: str | None = Field(None, description="Environment variable holding the API key, sent as "
                                    "'Authorization: Bearer ...' (the key itself is never written anywhere).")
    timeout_s: float = Field(120.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False, description="A request with no "
                             "complete answer this long after it started connecting (connect, send and receive "
                             "together) is an error: 'connect_timeout' while connecting, else 'timeout'.")
    ignore_eos: bool = Field(False, description="Send ignore_eos=true (vLLM) so the server always generates "
                             "max_tokens tokens.")
    extra_body: dict = Field(default_factory=dict, description="Extra JSON fields merged into every request body.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL")
        return value


class PromptSpec(_Strict):
    prompt: str | None = Field(None, description="One fixed prompt for every request.")
    dataset: str | None = Field(None, description="'random' (default), an evalray benchmark name (gsm8k, mmlu, ...), "
                                "a ShareGPT-format .json file or a text file with one prompt per line.")
    data_dir: str | None = Field(None, description="Local data of the benchmark (e.g. ../shared/data/gsm8k).")
    limit: int | None = Field(None, ge=1, le=100_000_000, description="Use only the first N prompts of the dataset.")
    tokenizer: str | None = Field(None, description="Tokenizer for random prompts and token counts when the "
                                  "server sends no usage: 'whitespace' (default), builtin:tiny-llama or a local "
                                  "Hugging Face tokenizer.")
    input_tokens: int = Field(128, ge=1, le=10_000_000, description="Random prompts: mean prompt length in "
                              "tokens.")
    input_tokens_range: float = Field(0.0, ge=0, lt=1, description="Random prompts: lengths uniform in "
                                      "input_tokens*(1±range).")
    max_tokens: int = Field(128, ge=1, le=10_000_000, description="max_tokens of every request (the mean when a "
                            "range is set).")
    max_tokens_range: float = Field(0.0, ge=0, lt=1, description="max_tokens uniform in max_tokens*(1±range).")
    random_prompts: int = Field(1000, ge=1, le=1_000_000, description="Random prompts: how many distinct prompts to make.")


class LoadSpec(_Strict):
    concurrency: list[Concurrency] | None = Field(None, max_length=1000, description="Closed loop: requests in "
                                                  "flight (never more users than requests); a list is a sweep.")
    rate: list[Rate] | None = Field(None, max_length=1000, description="Open loop: arrivals per second; a list is a "
                                    "sweep.")
    arrival: Literal["poisson", "gamma", "constant"] = Field("poisson", description="Open-loop arrival process "
                                                             "(gamma uses burstiness; poisson is gamma with 1).")
    burstiness: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False, description="Gamma shape of inter-arrival "
                              "times: <1 burstier, >1 smoother.")
    num_requests: int | None = Field(None, ge=1, le=MAX_REQUESTS_PER_POINT, description="Measured requests per run "
                                     "point (plus warm-up; at most 10,000,000 in all).")
    duration_s: float | None = Field(None, gt=0, le=MAX_DURATION_S, allow_inf_nan=False, description="Longest time "
                                     "a run point issues requests, in seconds (finite, at most 7 days).")
    warmup_requests: int = Field(0, ge=0, le=MAX_REQUESTS_PER_POINT, description="Requests sent first and left out "
                                 "of every figure.")
    ramp_up_s: float = Field(0.0, ge=0, le=MAX_DURATION_S, allow_inf_nan=False, description="Closed loop: users "
                             "start evenly over this time; open loop: the rate rises linearly from 0 over this time.")
    max_connections: int | None = Field(None, ge=1, le=1_000_000, description="Open loop: most connections in "
                                        "total (default 65536); requests beyond wait (as many again, at least "
                                        "65536; arrivals beyond are dropped and counted) and show queueing delay.")

    _given: frozenset = PrivateAttr(default=frozenset())  # the keys the job itself set (before defaults)

    @model_validator(mode="after")
    def _one_load_model(self) -> "LoadSpec":
        self._given = frozenset(self.model_fields_set)
        if self.concurrency and self.rate:
            raise ValueError("give either concurrency (closed loop) or rate (open loop), not both")
        if not self.concurrency and not self.rate:
            self.concurrency = [1]
        if self.num_requests is None and self.duration_s is None:
            self.num_requests = 100
        if any(c < 1 for c in self.concurrency or []) or any(r <= 0 for r in self.rate or []):
            raise ValueError("concurrencies must be >= 1 and rates > 0")
        return self


class SearchSpec(_Strict):
    min_rate: float = Field(1.0, gt=0, le=MAX_RATE, allow_inf_nan=False, description="Lowest rate tried (req/s).")
    max_rate: float = Field(1000.0, gt=0, le=MAX_RATE, allow_inf_nan=False, description="Highest rate tried (req/s).")
    steps: int = Field(6, ge=1, le=30, description="Bisection steps after the bracketing runs.")


class FleetSpec(_Strict):
    workers: int = Field(1, ge=1, le=1024, description="Load-generator Ray actors (each one event loop).")
    cpus_per_worker: float = Field(0.25, gt=0, le=1024, allow_inf_nan=False, description="Ray CPUs reserved by each "
                                   "worker actor.")
    local: bool = Field(False, description="Run one worker in this process without Ray (quick dry runs).")
    source_addresses: int = Field(1, ge=1, le=250, description="Spread connections over 127.0.0.1..N source "
                                  "addresses (for more than ~28k connections to one local port).")


class ServerMetricsSpec(_Strict):
    url: str | None = Field(None, description="The server's Prometheus endpoint (default: the target's "
                            "scheme://host:port/metrics, where vLLM serves it).")
    interval_s: float = Field(1.0, ge=0.01, le=3600, allow_inf_nan=False, description="Seconds between scrapes "
                              "during each run point (one more scrape before the first send and after the last end).")
    metrics: list[str] = Field(default_factory=list, max_length=100, description="More metric names to keep besides "
                               "the vLLM defaults (KV-cache usage, prefix-cache hits and queries, running and "
                               "waiting requests); a counter by its name with or without _total.")
    timeout_s: float = Field(2.0, gt=0, le=60, allow_inf_nan=False, description="Timeout of one scrape; a failed "
                             "scrape is counted in server_metrics.errors, never fails the run.")
    max_samples: int = Field(10_000, ge=2, le=1_000_000, description="Most scrapes kept per run point (scraping "
                             "stops there).")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("expected an http:// or https:// URL")
        return value


class ExportSpec(_Strict):
    to: Literal["wandb", "mlflow"] = Field(..., description="Tracker to log the run's summary rows to (the package "
                                           "must be installed).")
    project: str | None = Field(None, description="W&B project or MLflow experiment (default: the job's name).")
    run_name: str | None = Field(None, description="Name of the tracker run (default: the job's name).")


class PerfJobSpec(JobBase):
    """``kind: perf``: load-test an OpenAI-compatible endpoint; the shared fields (ray, runtime_env, seed, ...) are
    :class:`~evalray.job.base.JobBase`'s."""

    kind: Literal["perf"] = Field("perf", description="Job kind: perf (load test an OpenAI-compatible endpoint).")
    name: SafeName = Field("perf", description="Name of the run (used in the default output directory).")
    output: str = Field("runs/${name}", description="Directory for perf.json, records.parquet and report.html.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed of random prompts, lengths and arrival times.")
    target: TargetSpec = Field(..., description="The endpoint under test.")
    prompts: PromptSpec = Field(default_factory=PromptSpec, description="Where prompts come from (when no "
                                "workload is given; prompts.tokenizer counts tokens for every workload).")
    workload: Workload | None = Field(None, description="A realistic workload instead of prompts: synthetic, "
                                      "multi_turn, shared_prefix or trace (docs/perf.md).")
    load: LoadSpec = Field(default_factory=LoadSpec, description="Load model, bounds and sweep.")
    fleet: FleetSpec = Field(default_factory=FleetSpec, description="Load-generator workers.")
    slo: dict[str, str] | None = Field(None, description="SLOs such as {ttft_p99: 500ms, tpot_p99: 50ms}: adds "
                                       "goodput and a met/missed verdict to each run.")
    search: SearchSpec | None = Field(None, description="Search for the highest open-loop rate that meets the SLOs "
                                      "(needs slo).")
    server_metrics: ServerMetricsSpec | None = Field(None, description="Scrape the server's Prometheus metrics "
                                                     "during each run point (docs/perf.md).")
    export: ExportSpec | None = Field(None, description="Also log the run's summary to W&B or MLflow.")
    html: bool = Field(True, description="Write report.html.")
    progress: bool = Field(True, description="Print live progress to stderr.")

    @model_validator(mode="after")
    def _search_needs_slo(self) -> "PerfJobSpec":
        if "${name}" in self.output:
            self.output = self.output.replace("${name}", self.name)
        if self.search is not None and not self.slo:
            raise ValueError("search needs slo (e.g. slo: {ttft_p99: 500ms})")
        if self.slo:
            parse_slos(self.slo)
        kind = self.workload.type if self.workload is not None else None
        given = self.load._given
        if kind == "multi_turn" and "num_requests" in given:
            raise ValueError("a multi_turn workload counts sessions: set workload.sessions (--sessions), not "
                             "load.num_requests")
        if kind == "trace" and given & {"rate", "concurrency", "num_requests", "arrival", "ramp_up_s"}:
            raise ValueError("a trace workload sends at the trace's timestamps: leave load.rate, concurrency, "
                             "num_requests, arrival and ramp_up_s unset (use workload.speed / max_requests)")
        if kind == "trace" and self.search is not None:
            raise ValueError("search does not apply to a trace workload (sweep workload.speed instead)")
        return self
