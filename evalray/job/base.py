"""What every job kind shares: :class:`JobBase` (name, kind, description, output, where it runs, runtime_env, seed).

A job file is one of the kinds derived from it — ``kind: eval`` (:class:`evalray.job.spec.JobSpec`) or ``kind: perf``
(:class:`evalray.job.perf_spec.PerfJobSpec`) — told apart by ``kind``, so code that handles any job (the cluster
commands, the writers) reads these fields without asking which kind it has.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

MAX_NAME = 128
MAX_COUNT = 1024  # replicas, CPUs, GPUs, GiB of memory: more than any one job sensibly asks for
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=@:-]*")


def check_name(value: str) -> str:
    """A name that is used as a path component (run ids, output directories, per-model files)."""
    if len(value) > MAX_NAME or not _NAME.fullmatch(value):
        raise ValueError(f"must be a name of at most {MAX_NAME} characters: letters, digits and . _ - + = @ :, "
                         "starting with a letter or digit (no /, .., spaces or control characters)")
    return value


SafeName = Annotated[str, AfterValidator(check_name)]


class StrictModel(BaseModel):
    """Unknown keys are errors; assignments are validated too; numbers are finite (no NaN or infinity)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class RaySpec(StrictModel):
    address: str | None = Field(
        None,
        description="null: an embedded local Ray (or $RAY_ADDRESS when set); 'auto': a running `ray start` cluster; "
        "or ray://HOST:PORT.",
    )
    namespace: str | None = Field(None, description="Ray namespace for the job's actors.")
    num_cpus: int | None = Field(None, ge=1, le=MAX_COUNT, description="CPUs of the embedded local Ray (default: "
                                 "all).")
    actor_start_timeout_s: int = Field(
        1800, ge=1, le=86_400,
        description="Seconds each actor pool (a model's replicas, a judge's) may take to start all its actors; work is "
        "handed out once they all run, so every replica serves. Past it the job fails with a one-line error (often: "
        "the cluster lacks the resources the pool asks for).",
    )


class JobBase(StrictModel):
    """The fields of every job kind; each kind narrows ``kind`` to its own literal."""

    name: SafeName = Field(..., description="Job name, used in run ids and the default output path (letters, "
                           "digits and . _ - + = @ :).")
    kind: str = Field(..., description="Job kind: eval (benchmarks over models) or perf (load test an endpoint).")
    description: str | None = Field(None, description="Free text shown in the report.")
    output: str = Field("runs/${name}", description="Result directory (local path or file:// URI).")
    ray: RaySpec = Field(default_factory=RaySpec, description="Where the job runs.")
    runtime_env: dict[str, Any] | None = Field(
        None, description="Ray runtime_env for the job's workers (pip, env_vars, ...)."
    )
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Seed for few-shot sampling and anything else random.")

    @field_validator("output")
    @classmethod
    def _output_path(cls, value: str) -> str:
        if "\x00" in value or len(value.encode()) > 4096 or any(len(p.encode()) > 255 for p in value.split("/")):
            raise ValueError("expected a path of at most 4096 bytes, each part at most 255, without NUL")
        return value

    @field_validator("runtime_env")
    @classmethod
    def _env_vars_are_strings(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        env = (value or {}).get("env_vars")
        if env is not None and (not isinstance(env, dict) or
                                not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
            raise ValueError("env_vars must map names to strings (quote numbers: \"1\")")
        return value
