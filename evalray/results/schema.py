"""The typed contract of ``result.json``: what the runner builds, the writers write and the reports read.

``schema_version`` 2: per-sample Parquet scores are typed (a ``scores`` struct of the benchmark's metrics, pooled
list-valued metrics as lists), counts carry ``duplicates``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2
RunStatus = Literal["completed", "partial", "failed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoreRow(_Record):
    model: str = Field(..., description="Model name (the job's).")
    benchmark: str = Field(..., description="Benchmark name.")
    subset: str | None = Field(None, description="Subset or category; null for the overall rows.")
    metric: str = Field(..., description="Metric name; '<metric>_macro' is the mean over subsets.")
    level: Literal["overall", "subset", "category"] = Field(..., description="What the row aggregates.")
    value: float | None = Field(None, description="The mean (null when no sample was scored).")
    stderr: float | None = Field(None, description="Standard error of the mean.")
    ci_low: float | None = Field(None, description="Lower end of the 95% confidence interval.")
    ci_high: float | None = Field(None, description="Upper end of the 95% confidence interval.")
    n: int = Field(..., description="Observations behind the value (errors excluded).")


class CountRow(_Record):
    model: str = Field(..., description="Model name.")
    benchmark: str = Field(..., description="Benchmark name.")
    samples: int = Field(..., description="Distinct samples collected.")
    errors: int = Field(..., description="Samples whose generation or scoring failed (excluded from n).")
    expected: int = Field(..., description="Samples the job asked for.")
    duplicates: int = Field(0, description="Extra copies of already-collected samples (retried work), dropped.")


class ActorCount(_Record):
    model: str = Field(..., description="Model name.")
    actor_id: str | None = Field(None, description="The Ray actor (or engine) that answered.")
    node_id: str | None = Field(None, description="The Ray node it ran on.")
    samples: int = Field(..., description="Samples it answered.")


class RunResult(_Record):
    schema_version: int = Field(SCHEMA_VERSION, description="Version of this file's layout.")
    run_id: str = Field(..., description="Unique id of the run.")
    name: str = Field(..., description="The job's name.")
    status: RunStatus = Field(..., description="completed: every sample scored; partial: some errored or missing; "
                                               "failed: the run stopped early.")
    started_at: str = Field(..., description="UTC start time (ISO 8601).")
    finished_at: str = Field(..., description="UTC end time (ISO 8601).")
    job: dict[str, Any] = Field(..., description="The resolved job, secrets masked.")
    env: dict[str, str] = Field(..., description="Versions of evalray, Ray and Python.")
    scores: list[ScoreRow] = Field(default_factory=list, description="Aggregated scores.")
    counts: list[CountRow] = Field(default_factory=list, description="Samples per model and benchmark.")
    actors: list[ActorCount] = Field(default_factory=list, description="Who served how many samples.")
    arena: list[dict[str, Any]] = Field(
        default_factory=list, description="Judged benchmarks: mode, baseline, judges, Bradley-Terry ratings with "
        "bootstrap intervals, leaderboard, win-rate matrix, battle counts, style control, length control, agreement.")
    judge_errors: list[dict[str, Any]] = Field(
        default_factory=list, description="Per benchmark, judge and model: judgments asked, and those that failed "
        "(errors = unparsable + failed); a failed judgment is never a rating, win, loss or tie.")
    comparisons: list[dict[str, Any]] = Field(
        default_factory=list, description="Paired comparisons of every two models per benchmark: difference B - A "
        "of the primary metric, paired-bootstrap 95% interval, p-value (McNemar exact or sign test).")
    error: str | None = Field(None, description="Why the run failed, one line.")

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if data.get("error") is None:
            data.pop("error", None)
        return data
