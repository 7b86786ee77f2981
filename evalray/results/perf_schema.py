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
