"""``evalray`` with phase timers: ``python evalray_phases.py OUT.json run JOB.yaml ...`` behaves exactly like
``evalray run JOB.yaml ...`` (same CLI entry point, same process layout) and also writes how long each phase took:
imports, request building, Ray start-up, the Ray Data execution, Ray shut-down and writing the results. Timers wrap
module attributes; nothing in evalray changes."""

from __future__ import annotations

import json
import sys
import time

T0 = time.perf_counter()
PHASES: dict[str, float] = {}
MARKS: dict[str, float] = {}


def _timed(module, name: str, label: str) -> None:
    original = getattr(module, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        MARKS.setdefault(label + "_start", start - T0)
        try:
            return original(*args, **kwargs)
        finally:
            PHASES[label] = PHASES.get(label, 0.0) + time.perf_counter() - start

    setattr(module, name, wrapper)


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    import ray

    from evalray import runtime
    from evalray.cli import main as cli
    from evalray.pipeline import plan, runner, stages
    from evalray.results import writers

    PHASES["imports"] = time.perf_counter() - T0
    _timed(plan, "request_rows", "build_requests")
    _timed(runner, "plan_run", "preflight")  # includes build_requests
    _timed(runtime, "start_ray", "ray_init")
    _timed(stages, "evaluation_dataset", "build_dataset")
    _timed(ray, "shutdown", "ray_shutdown")
    _timed(writers, "write_run", "write_results")
    original_run_job = runner.run_job

    def run_job(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original_run_job(*args, **kwargs)
        finally:
            PHASES["run_job"] = time.perf_counter() - start

    runner.run_job = run_job
    sys.argv = ["evalray", *argv]
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        PHASES["total_in_process"] = time.perf_counter() - T0
        known = sum(PHASES.get(k, 0.0) for k in ("preflight", "ray_init", "build_dataset",
                                                   "ray_shutdown", "write_results"))
        if "run_job" in PHASES:
            # iterating the dataset (the generate and score stages) plus aggregation on the driver
            PHASES["execute_and_aggregate"] = PHASES["run_job"] - known
        with open(out, "w") as f:
            json.dump({"phases": PHASES, "marks": MARKS}, f, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
