"""What every job kind shares: :class:`JobBase` (name, kind, description, output, where it runs, runtime_env, seed).

A job file is one of the kinds derived from it — ``kind: eval`` (:class:`evalray.job.spec.JobSpec`) or ``kind: perf``
(:class:`evalray.job.perf_spec.PerfJobSpec`) — told apart by ``kind``, so code that handles any job (the cluster
commands, the writers) reads these fields without asking which kind it has.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Unknown keys are errors; assignments are validated too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RaySpec(StrictModel):
    address: str | None = Field(
        None,
        description="null: an embedded local Ray (or $RAY_ADDRESS when set); 'auto': a running `ray start` cluster; "
        "or ray://HOST:PORT.",
    )
    namespace: str | None = Field(None, description="Ray namespace for the job's actors.")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the embedded local Ray (default: all).")


class JobBase(StrictModel):
    """The fields of every job kind; each kind narrows ``kind`` to its own literal."""

    name: str = Field(..., min_length=1, description="Job name, used in run ids and the default output path.")
    kind: str = Field(..., description="Job kind: eval (benchmarks over models) or perf (load test an endpoint).")
    description: str | None = Field(None, description="Free text shown in the report.")
    output: str = Field("runs/${name}", description="Result directory (local path or file:// URI).")
    ray: RaySpec = Field(default_factory=RaySpec, description="Where the job runs.")
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray runtime_env for the job's workers (pip, env_vars, ...)."
    )
    seed: int = Field(0, description="Seed for few-shot sampling and anything else random.")
