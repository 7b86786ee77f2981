"""Runs on disk: finding them under a root, reading their files, and resolving user-given paths safely.

An eval run is a directory with ``result.json`` (and ``samples/<model>/<benchmark>.parquet``), a perf run one with
``perf.json`` (and ``records.parquet``); a run still being written has a ``progress.json`` whose status is
``running``. :func:`load_result` is the only reader of ``result.json`` (a dict), so a typed result model can replace
it in one place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evalray.errors import EvalrayError
from evalray.loadgen.report_html import point_label

RESULT, PERF, PROGRESS, RECORDS = "result.json", "perf.json", "progress.json", "records.parquet"
STALE_S = 300.0  # a "running" progress file not updated for this long belongs to a run that died
MAX_DEPTH = 4


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalrayError(f"{path} does not exist") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalrayError(f"{path}: not a readable JSON file ({exc})") from None


def load_result(run_dir: Path) -> dict[str, Any]:
    """The ``result.json`` of an eval run, validated by its typed contract (:class:`RunResult`), as a dict."""
    from evalray.results.schema import RunResult

    path = Path(run_dir) / RESULT
    return _validated(RunResult, _read_json(path), path).as_dict()


def load_perf(run_dir: Path) -> dict[str, Any]:
    """The ``perf.json`` of a perf run, validated by its typed contract (:class:`PerfDocument`), as a dict."""
    from evalray.results.perf_schema import PerfDocument

    path = Path(run_dir) / PERF
    return _validated(PerfDocument, _read_json(path), path).model_dump(mode="json")


def _validated(model: Any, data: dict[str, Any], path: Path) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise EvalrayError(f"{path}: not a {model.__name__} ({where}: {first['msg']})") from None


def load_records(run_dir: Path):
    """The raw per-request records of a perf run (a pyarrow table)."""
    import pyarrow.parquet as pq

    path = Path(run_dir) / RECORDS
    if not path.is_file():
        raise EvalrayError(f"{path} does not exist")
    return pq.read_table(path)


def load_progress(run_dir: Path) -> dict[str, Any] | None:
    """The progress file of a run, or None (absent or unreadable: it is rewritten atomically, but be lenient)."""
    try:
        return json.loads((Path(run_dir) / PROGRESS).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def run_kind(run_dir: Path) -> str | None:
    run_dir = Path(run_dir)
    if (run_dir / RESULT).is_file():
        return "eval"
    if (run_dir / PERF).is_file():
        return "perf"
    if (run_dir / PROGRESS).is_file():
        return "eval"
    return None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


@dataclass
class RunEntry:
    """One row of the runs list."""

    rel: str
    path: Path
    kind: str
    name: str
    status: str
    models: list[str] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)
    started: str | None = None
    duration_s: float | None = None
    progress: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def live_progress(run_dir: Path) -> dict[str, Any] | None:
    """The progress of a run without a result yet, or being written again (progress newer than result.json)."""
    progress = load_progress(run_dir)
    if progress is None:
        return None
    result, progress_path = run_dir / RESULT, run_dir / PROGRESS
    if result.is_file() and (progress.get("status") != "running"
                             or result.stat().st_mtime >= progress_path.stat().st_mtime):
        return None
    if progress.get("status") == "running" and time.time() - progress_path.stat().st_mtime > STALE_S:
        progress = {**progress, "status": "stale"}
    return progress


def _eval_entry(run_dir: Path, rel: str) -> RunEntry:
    progress = live_progress(run_dir)
    if progress is not None or not (run_dir / RESULT).is_file():
        progress = progress or {}
        pairs = progress.get("items", [])
        return RunEntry(rel, run_dir, "eval", progress.get("name") or run_dir.name, progress.get("status", "running"),
                        list(dict.fromkeys(p["model"] for p in pairs)),
                        list(dict.fromkeys(p["benchmark"] for p in pairs)), progress.get("started"),
                        _seconds_between(progress.get("started"), progress.get("updated")), progress)
    try:
        result = load_result(run_dir)
    except EvalrayError as exc:
        return RunEntry(rel, run_dir, "eval", run_dir.name, f"unreadable: {exc}")
    job = result.get("job") or {}
    models = [m.get("name") for m in job.get("models", [])] or sorted({c["model"] for c in result.get("counts", [])})
    benchmarks = [b.get("name") for b in job.get("benchmarks", [])] or sorted({c["benchmark"] for c in result.get("counts", [])})
    return RunEntry(rel, run_dir, "eval", result.get("name", run_dir.name), result.get("status", "unknown"),
                    models, benchmarks, result.get("started_at"),
                    _seconds_between(result.get("started_at"), result.get("finished_at")))


def _perf_entry(run_dir: Path, rel: str) -> RunEntry:
    try:
        document = load_perf(run_dir)
    except EvalrayError as exc:
        return RunEntry(rel, run_dir, "perf", run_dir.name, f"unreadable: {exc}")
    runs = document.get("runs", [])
    status = "interrupted" if document.get("interrupted") else "completed"
    return RunEntry(rel, run_dir, "perf", document.get("name", run_dir.name), status,
                    [document.get("target", {}).get("model", "?")], [point_label(r) for r in runs],
                    document.get("created"), round(sum(r.get("duration_s") or 0.0 for r in runs), 3))


def describe(run_dir: Path, rel: str) -> RunEntry | None:
    kind = run_kind(run_dir)
    if kind == "eval":
        return _eval_entry(run_dir, rel)
    if kind == "perf":
        return _perf_entry(run_dir, rel)
    return None


def discover(root: Path) -> list[RunEntry]:
    """Every run under ``root`` (the root itself included), newest first; ``samples`` folders are not searched."""
    root = Path(root)
    entries: list[RunEntry] = []
    if not root.is_dir():
        return entries
    base_depth = len(root.parts)
    for current, dirs, _files in os.walk(root):
        path = Path(current)
        dirs[:] = sorted(d for d in dirs if d != "samples" and not d.startswith("."))
        if len(path.parts) - base_depth >= MAX_DEPTH:
            dirs[:] = []
        entry = describe(path, path.relative_to(root).as_posix())
        if entry is not None:
            entries.append(entry)
    entries.sort(key=lambda e: e.rel)
    entries.sort(key=lambda e: e.started or "", reverse=True)
    return entries


def resolve_inside(root: Path, rel: str) -> Path | None:
    """``root/rel`` if it stays inside ``root`` (no ``..``, no absolute path, no symlink out), else None."""
    root = Path(root).resolve()
    if rel in ("", "."):
        return root
    if "\\" in rel or "\x00" in rel or rel.startswith("/") or ":" in PurePosixPath(rel).parts[0]:
        return None
    if any(part in ("..", "") for part in rel.strip("/").split("/")):
        return None
    candidate = (root / rel).resolve()
    if candidate != root and root not in candidate.parents:
        return None
    return candidate


def sample_file(run_dir: Path, result: dict[str, Any], model: str, benchmark: str) -> Path | None:
    """The Parquet file of (model, benchmark) when both are in the run's counts (never a path built from free text)."""
    known = {(c["model"], c["benchmark"]) for c in result.get("counts", [])}
    if (model, benchmark) not in known:
        return None
    path = Path(run_dir) / "samples" / model / f"{benchmark}.parquet"
    return path if path.is_file() else None


@dataclass
class Selection:
    """One side of a comparison: a model of an eval run."""

    run_dir: Path
    rel: str
    model: str
    result: dict[str, Any]
    label: str = ""


def split_selection(text: str) -> tuple[str, str | None]:
    """``RUN`` or ``RUN::MODEL``."""
    run, sep, model = text.partition("::")
    return run, (model or None) if sep else None


def selections(runs: list[tuple[Path, str, str | None]], models: list[str] | None = None) -> list[Selection]:
    """(run directory, display path, model or None for all) -> the selections, each with a short unique label."""
    chosen: list[Selection] = []
    for run_dir, rel, model in runs:
        if run_kind(run_dir) != "eval" or not (Path(run_dir) / RESULT).is_file():
            raise EvalrayError(f"{rel}: not an eval run (no {RESULT})")
        result = load_result(run_dir)
        names = list(dict.fromkeys(c["model"] for c in result.get("counts", [])))
        if model is not None and model not in names:
            raise EvalrayError(f"{rel}: no model '{model}' (models: {', '.join(names)})")
        for name in [model] if model else names:
            if models and name not in models:
                continue
            chosen.append(Selection(Path(run_dir), rel, name, result))
    one_each = len({s.rel for s in chosen}) == len(chosen)
    for selection in chosen:
        if len({s.rel for s in chosen}) == 1:
            selection.label = selection.model
        elif one_each:
            selection.label = selection.rel
        else:
            selection.label = f"{selection.rel}:{selection.model}"
    return chosen
