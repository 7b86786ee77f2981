"""Writers: ``result.json``, ``samples/<model>/<benchmark>.parquet``, ``report.md`` and ``report.html``.

``output`` may be a local path, a ``file://`` URI, or any filesystem URI pyarrow understands (``s3://``, ``gs://``):
results are written to a local staging directory and copied there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from evalray.results.schema import SCHEMA_VERSION, RunResult  # noqa: F401  (SCHEMA_VERSION re-exported)
from evalray.rows import COLUMN_TYPES, FLOATS, score_values

SAMPLE_COLUMNS = [
    "id", "uid", "subset", "mode", "prompt", "messages", "continuations", "contexts", "output", "texts",
    "loglikelihoods", "is_greedy", "extracted", "target", "retrieved", "retrieved_scores", "relevant",
    "scores", "metric_errors", "judge_calls", "error", "served_by", "node_id",
]


def local_path(output: str) -> Path | None:
    """The local directory of an output location, or None for a remote URI."""
    if output.startswith("file://"):
        return Path(output[len("file://"):])
    if "://" in output:
        return None
    return Path(output).expanduser()


def sample_table(samples: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The per-sample table of one (model, benchmark), sorted by uid: the pipeline's columns with their declared
    Arrow types, and ``scores`` as a struct of the benchmark's metrics (a list for pooled metrics), null on errors."""
    ordered = sorted(samples, key=lambda row: str(row.get("uid")))
    present = [c for c in SAMPLE_COLUMNS if c != "scores" and any(c in row for row in ordered)]
    arrays: dict[str, pa.Array] = {}
    for column in present:
        arrays[column] = pa.array([row.get(column) for row in ordered], type=COLUMN_TYPES.get(column, pa.string()))
    values = [None if row.get("error") else score_values(row) for row in ordered]
    names = list(dict.fromkeys(name for v in values if v for name in v))
    fields = [pa.field(n, FLOATS if any(isinstance((v or {}).get(n), list) for v in values) else pa.float64())
              for n in names]
    if fields:  # (Parquet has no struct without fields: a benchmark's baseline model has answers but no scores)
        arrays["scores"] = pa.array([None if v is None else {n: v.get(n) for n in names} for v in values],
                                    type=pa.struct(fields))
    order = [c for c in SAMPLE_COLUMNS if c in arrays]
    return pa.table({c: arrays[c] for c in order})


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_run(output: str, result: RunResult, samples: dict[tuple[str, str], Sequence[Mapping[str, Any]]],
              judgments: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> str:
    """Write everything; return where it went."""
    target = local_path(output)
    staging = target if target is not None else Path(tempfile.mkdtemp(prefix="evalray-out-"))
    staging.mkdir(parents=True, exist_ok=True)
    if judgments:
        from evalray.results.judgments import write_judgments

        write_judgments(staging, judgments)
    for (model, benchmark), rows in samples.items():
        path = staging / "samples" / model / f"{benchmark}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(sample_table(rows), path)
    data = result.as_dict()
    write_json_atomic(staging / "result.json", data)
    from evalray.results.report import html_report, markdown_report

    (staging / "report.md").write_text(markdown_report(data), encoding="utf-8")
    (staging / "report.html").write_text(html_report(data), encoding="utf-8")
    if target is None:
        upload(staging, output)
        shutil.rmtree(staging, ignore_errors=True)
    return str(target) if target is not None else output


def upload(local_dir: Path, uri: str) -> None:
    from pyarrow import fs

    from evalray.errors import EvalrayError

    try:
        destination, path = fs.FileSystem.from_uri(uri)
        destination.create_dir(path, recursive=True)
        fs.copy_files(str(local_dir), path, source_filesystem=fs.LocalFileSystem(), destination_filesystem=destination)
    except Exception as exc:
        raise EvalrayError(f"cannot write results to {uri}: {exc}") from None
