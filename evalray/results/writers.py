"""Writers: ``result.json``, ``samples/<model>/<benchmark>.parquet``, ``report.md`` and ``report.html``.

``output`` may be a local path, a ``file://`` URI, or any filesystem URI pyarrow understands (``s3://``, ``gs://``):
results are written to a local staging directory and copied there.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = 1
SAMPLE_COLUMNS = [
    "id", "uid", "subset", "mode", "prompt", "messages", "continuations", "output", "texts", "loglikelihoods",
    "extracted", "target", "scores", "error", "served_by", "node_id",
]


def local_path(output: str) -> Path | None:
    """The local directory of an output location, or None for a remote URI."""
    if output.startswith("file://"):
        return Path(output[len("file://"):])
    if "://" in output:
        return None
    return Path(output).expanduser()


def sample_table(frame: pd.DataFrame) -> pa.Table:
    columns = [c for c in SAMPLE_COLUMNS if c in frame.columns]
    data = frame[columns].sort_values("uid", kind="stable").reset_index(drop=True)
    data = data.astype({c: "object" for c in ("continuations", "texts", "loglikelihoods") if c in data})
    for column in ("continuations", "texts", "loglikelihoods"):
        if column in data:
            data[column] = [list(v) if v is not None else [] for v in data[column]]
    types = {"continuations": pa.list_(pa.string()), "texts": pa.list_(pa.string()), "loglikelihoods": pa.list_(pa.float64())}
    arrays = {}
    for column in data.columns:
        kind = types.get(column, pa.string())
        values = data[column].tolist()
        if kind == pa.string():
            values = [None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in values]
        arrays[column] = pa.array(values, type=kind)
    return pa.table(arrays)


def write_run(output: str, result: dict[str, Any], frames: dict[tuple[str, str], pd.DataFrame]) -> str:
    """Write everything; return where it went."""
    target = local_path(output)
    staging = target if target is not None else Path(tempfile.mkdtemp(prefix="evalray-out-"))
    staging.mkdir(parents=True, exist_ok=True)
    for (model, benchmark), frame in frames.items():
        path = staging / "samples" / model / f"{benchmark}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(sample_table(frame), path)
    (staging / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    from evalray.results.report import html_report, markdown_report

    (staging / "report.md").write_text(markdown_report(result), encoding="utf-8")
    (staging / "report.html").write_text(html_report(result), encoding="utf-8")
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
