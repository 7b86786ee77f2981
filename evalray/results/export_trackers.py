"""Log export rows (:mod:`evalray.results.export`) to Weights & Biases or MLflow, when that package is installed
(neither is a dependency): one tracker run; perf points as steps of numeric metrics (step = the point's index), eval
scores as ``model/benchmark/metric`` metrics, and every row as a table (W&B) or ``summary.json`` artifact (MLflow).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from typing import Any

from evalray.errors import ConfigError

TRACKERS = {"wandb": "wandb", "mlflow": "mlflow"}  # --to NAME -> the package it needs
_KEYS = {"kind", "run_id", "run_dir", "job", "created", "endpoint", "model", "status", "benchmark", "metric", "load",
         "workload", "point"}


def require_tracker(name: str) -> None:
    """One clear error unless the tracker's package can be imported (checked before a run starts)."""
    if name not in TRACKERS:
        raise ConfigError(f"export --to {name}: expected one of {', '.join(TRACKERS)}")
    package = TRACKERS[name]
    if sys.modules.get(package) is None and importlib.util.find_spec(package) is None:
        raise ConfigError(f"export --to {name}: the '{package}' package is not installed (pip install {package})")


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items()
            if k not in _KEYS and isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}


def _metric_key(row: dict[str, Any]) -> str:
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", f"{row.get('model')}/{row.get('benchmark')}/{row.get('metric')}")


def _params(rows: list[dict[str, Any]]) -> dict[str, str]:
    first = rows[0]
    return {k: str(first[k]) for k in ("kind", "run_id", "job", "endpoint", "model", "created") if first.get(k)}


def log_rows(name: str, rows: list[dict[str, Any]], project: str | None = None, run_name: str | None = None) -> str:
    """Log ``rows`` to tracker ``name``; returns a one-line description of what was logged."""
    require_tracker(name)
    if not rows:
        raise ConfigError(f"export --to {name}: nothing to log (no run points or scores)")
    module = importlib.import_module(TRACKERS[name])
    project = project or str(rows[0].get("job") or "evalray")
    run_name = run_name or str(rows[0].get("run_id") or project)
    perf = [r for r in rows if r.get("kind") == "perf"]
    scores = {_metric_key(r): float(r["value"]) for r in rows if r.get("kind") == "eval" and r.get("value") is not None}
    if name == "wandb":
        run = module.init(project=project, name=run_name, config=_params(rows))
        for step, row in enumerate(perf):
            run.log(_numbers(row), step=step)
        if scores:
            run.log(scores)
        columns = list(dict.fromkeys(k for r in rows for k in r))
        run.log({"summary": module.Table(columns=columns, data=[[r.get(c) for c in columns] for r in rows])})
        run.finish()
    else:
        module.set_experiment(project)
        with module.start_run(run_name=run_name):
            module.log_params(_params(rows))
            for step, row in enumerate(perf):
                module.log_metrics(_numbers(row), step=step)
            if scores:
                module.log_metrics(scores)
            module.log_dict(rows, "summary.json")
    return f"logged {len(rows)} rows to {name} ({project}/{run_name})"
