"""Durable, resumable runs: scored rows go to disk as they arrive, and a later run continues where a crash stopped.

The output directory of a run holds, besides the final files:

* ``manifest.json`` — the run's id, its **fingerprint** (evalray version, each model's result-relevant settings, each
  (model, benchmark)'s request rows hashed: prompts, continuations, stops, budgets, so a change of data file or
  prompt changes it) and its state (``running`` until the result is written, then the status; any state but
  ``completed`` is unfinished: a rerun continues it and asks only what is not scored yet);
* ``parts/part-*.parquet`` — every batch of scored rows, each written to a temporary file and renamed into place, so
  a part is either whole or absent whatever kills the process.

:meth:`RunStore.begin` decides: a directory with an unfinished run of the same fingerprint is resumed (its scored
samples are not asked again); ``resume=True`` insists (a different fingerprint is refused, naming what changed); any
other content is cleared first, so an old ``result.json`` never stands for a new run. Remote outputs (``s3://``...)
keep their parts in a local staging directory named after the URI, so they resume too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from evalray.errors import ConfigError

MANIFEST = "manifest.json"
PARTS = "parts"
FINAL_FILES = ("result.json", "report.md", "report.html", "progress.json")
# request columns whose values decide what a model is asked (and so whether an old answer still counts)
REQUEST_KEY_COLUMNS = ("uid", "mode", "kind", "prompt", "messages", "continuations", "contexts", "stop", "max_tokens",
                       "repeats", "target", "choices")
# model settings that do not change answers
NEUTRAL_MODEL_FIELDS = {"replicas", "resources", "concurrency", "timeout_s", "max_retries", "keep", "serving",
                        "batch_size", "api_key_env"}


def fingerprint(version: str, models: Sequence[Any], rows_by_model: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict:
    """What a run's answers depend on, as short hashes (comparable piece by piece)."""
    settings = {m.name: _digest(m.model_dump(mode="json", exclude=NEUTRAL_MODEL_FIELDS)) for m in models}
    requests: dict[str, str] = {}
    for model, rows in rows_by_model.items():
        by_benchmark: dict[str, list] = {}
        for row in rows:
            by_benchmark.setdefault(row["benchmark"], []).append([_plain(row.get(c)) for c in REQUEST_KEY_COLUMNS])
        for benchmark, items in by_benchmark.items():
            requests[f"{model}/{benchmark}"] = _digest(sorted(items, key=lambda item: item[0]))
    return {"evalray": version, "models": settings, "requests": requests}


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed between two fingerprints, in words."""
    changed = []
    if old.get("evalray") != new.get("evalray"):
        changed.append(f"evalray {old.get('evalray')} -> {new.get('evalray')}")
    for part, label in (("models", "settings of model"), ("requests", "requests of")):
        before, after = old.get(part, {}), new.get(part, {})
        for key in sorted(set(before) | set(after)):
            if key not in after:
                changed.append(f"{label} {key} removed")
            elif key not in before:
                changed.append(f"{label} {key} added")
            elif before[key] != after[key]:
                changed.append(f"{label} {key} changed")
    return changed


@dataclass
class ResumeState:
    run_id: str | None = None  # the run being continued, if any
    scored: list[dict[str, Any]] = field(default_factory=list)  # rows scored before (no error), one per sample

    @property
    def done(self) -> set[tuple[str, str]]:
        return {(row["model"], row["uid"]) for row in self.scored}


class RunStore:
    """The durable side of one output location."""

    def __init__(self, output: str) -> None:
        from evalray.results.writers import local_path

        target = local_path(output)
        if target is None:
            from evalray.models.tiny import cache_dir

            target = cache_dir() / "staging" / hashlib.sha256(output.encode()).hexdigest()[:16]
        self.directory = target
        self.parts = target / PARTS

    # ---- the manifest ------------------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.directory / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        from evalray.results.writers import write_json_atomic

        self.directory.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.directory / MANIFEST, dict(manifest))

    # ---- starting ----------------------------------------------------------------------------------------------
    def begin(self, run_id: str, started_at: str, prints: dict, resume: bool | None) -> ResumeState:
        """``resume`` None: continue an unfinished run of the same fingerprint if there is one; True: continue the
        run there, refusing a different fingerprint; False: never continue. Otherwise start clean. Writes the manifest of the run that now owns the directory."""
        old = self.read_manifest()
        state = ResumeState()
        unfinished = old is not None and old.get("state") != "completed"  # killed, interrupted, failed or partial
        if resume and old is None:
            raise ConfigError(f"--resume: {self.directory} holds no evalray run to resume")
        if old is not None and (resume or (unfinished and resume is None)):
            changed = differences(old.get("fingerprint", {}), prints)
            if changed and resume:
                raise ConfigError(f"--resume: the job differs from the run in {self.directory}: {'; '.join(changed)}")
            if not changed:
                state = ResumeState(run_id=old.get("run_id"), scored=self._scored_rows())
        if state.run_id is None:
            self._clear()
        self.write_manifest({"run_id": state.run_id or run_id, "state": "running", "fingerprint": prints,
                             "started_at": old.get("started_at", started_at) if state.run_id else started_at,
                             "resumed": bool(state.run_id)})
        return state

    def _clear(self) -> None:
        for name in (MANIFEST, *FINAL_FILES):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        for name in (PARTS, "samples"):
            shutil.rmtree(self.directory / name, ignore_errors=True)

    def _scored_rows(self) -> list[dict[str, Any]]:
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for table in self.read_parts():
            for row in table.to_pylist():
                latest[(row["model"], row["uid"])] = row
        return [row for row in latest.values() if not row.get("error")]

    # ---- while running -----------------------------------------------------------------------------------------
    def append(self, table: pa.Table) -> None:
        """One batch of scored rows, atomically: a temporary file renamed into place."""
        if table.num_rows == 0:
            return
        self.parts.mkdir(parents=True, exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        handle, temporary = tempfile.mkstemp(dir=self.parts, prefix=".", suffix=".tmp")
        os.close(handle)
        try:
            pq.write_table(table, temporary)
            os.replace(temporary, self.parts / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def read_parts(self) -> Iterable[pa.Table]:
        for path in sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []:
            try:
                yield pq.read_table(path)
            except Exception:  # a damaged part is skipped: its samples are simply asked again
                continue

    def finish(self, status: str) -> None:
        manifest = self.read_manifest() or {}
        self.write_manifest({**manifest, "state": status})


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
