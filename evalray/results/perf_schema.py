"""The typed contract of ``perf.json`` (schema_version 1): what the perf runner writes and the reports read.

Figures are strict JSON (non-finite values are null). A run entry carries the figures of
:func:`evalray.loadgen.metrics.compute_metrics` and the point's settings (concurrency or rate, workers, ...), which
vary by mode and stay open (``extra="allow"``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PERF_SCHEMA_VERSION = 1


class Percentiles(BaseModel):
    model_config = ConfigDict(extra="allow")  # p50, p90, p95, p99, ... as the job asks

    mean: float | None = Field(None, description="Mean, in milliseconds.")


class PerfTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="Base URL of the endpoint under test.")
    model: str | None = Field(None, description="Model name sent in requests.")
    stream: bool = Field(..., description="Whether responses were streamed (SSE).")


class ServerMetrics(BaseModel):
    """The server's Prometheus metrics scraped during one run point (``server_metrics`` of the job)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="The scraped endpoint.")
    interval_s: float = Field(..., description="Seconds between scrapes.")
    samples: int = Field(..., description="Successful scrapes (one before the first send, one after the last end).")
    errors: dict[str, int] = Field(default_factory=dict, description="Failed scrapes by kind (connect, timeout, "
                                   "http_404, parse, too_large).")
    error_count: int = Field(0, description="Failed scrapes in all.")
    last_error: str | None = Field(None, description="The last failure, one line.")
    t: list[float] = Field(default_factory=list, description="Time of each successful scrape, seconds since the "
                           "point's common start (the records' clock; the first is negative).")
    series: dict[str, list[float | None]] = Field(default_factory=dict, description="Per metric found, its value at "
                                                  "each scrape (summed over label sets; null where absent).")
    stats: dict[str, dict[str, float]] = Field(default_factory=dict, description="Per metric: min, mean, max, last.")
    kv_cache_usage_max: float | None = Field(None, description="Peak KV-cache usage (0..1; vllm:kv_cache_usage_perc "
                                             "or vllm:gpu_cache_usage_perc).")
    prefix_cache_hits: float | None = Field(None, description="Prefix-cache hit tokens during the point (counter "
                                            "delta of vllm:prefix_cache_hits).")
    prefix_cache_queries: float | None = Field(None, description="Prefix-cache queried tokens during the point "
                                               "(counter delta of vllm:prefix_cache_queries).")
    prefix_cache_hit_rate: float | None = Field(None, description="hits / queries during the point (null: no "
                                                "queries or no such counters).")


class PerfRun(BaseModel):
    """One point of a perf job (one concurrency or rate)."""

    model_config = ConfigDict(extra="allow")

    requests: int = Field(..., description="Requests measured (warm-up excluded).")
    ok: int = Field(..., description="Requests that succeeded.")
    errors: dict[str, int] = Field(default_factory=dict, description="Failed requests by kind (http_500, timeout, ...).")
    error_rate: float = Field(..., description="Failed / all measured requests.")
    duration_s: float = Field(..., description="From the first send to the last end, seconds.")
    request_throughput: float = Field(..., description="Successful requests per second.")
    output_token_throughput: float = Field(..., description="Completion tokens per second.")
    total_token_throughput: float = Field(..., description="Prompt + completion tokens per second.")
    ttft_ms: Percentiles | None = Field(None, description="Time to first token.")
    tpot_ms: Percentiles | None = Field(None, description="Time per output token after the first.")
    itl_ms: Percentiles | None = Field(None, description="Inter-token latency.")
    e2e_ms: Percentiles | None = Field(None, description="End-to-end request latency.")
    goodput: float | None = Field(None, description="Requests per second meeting every SLO (when SLOs are set).")
    server_metrics: ServerMetrics | None = Field(None, description="The server's metrics during the point (when "
                                                 "the job scrapes them).")


class PerfDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(PERF_SCHEMA_VERSION, description="Version of this file's layout.")
    kind: str = Field("perf", description="Always 'perf'.")
    evalray_version: str = Field(..., description="evalray version that wrote it.")
    name: str = Field(..., description="The job's name.")
    created: str = Field(..., description="UTC start time (ISO 8601).")
    target: PerfTarget = Field(..., description="What was load-tested.")
    runs: list[PerfRun] = Field(default_factory=list, description="One entry per sweep point.")
    search: dict[str, Any] | None = Field(None, description="The SLO rate search, when one ran.")
    interrupted: bool = Field(False, description="Stopped early (Ctrl-C): the runs hold what finished.")
    job: dict[str, Any] = Field(..., description="The resolved perf job, secrets masked.")
