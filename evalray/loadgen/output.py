"""perf.json (schema_version 1), records.parquet and (through :mod:`evalray.loadgen.report_html`) report.html."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalray import __version__
from evalray.job.loader import public_job_dict
from evalray.job.perf_spec import PerfJobSpec
from evalray.loadgen.records import RECORD_SCHEMA
from evalray.loadgen.result import PerfResult
from evalray.results.perf_schema import PerfDocument

SCHEMA_VERSION = 1


def perf_document(spec: PerfJobSpec, result: PerfResult, started: float) -> dict[str, Any]:
    job = public_job_dict(spec)
    job["target"]["headers"] = {k: "***" for k in job["target"].get("headers", {})}
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "perf",
        "evalray_version": __version__,
        "name": spec.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "target": {"url": spec.target.url, "model": spec.target.model, "stream": spec.target.stream},
        "runs": result.runs,
        "search": result.search,
        "interrupted": result.interrupted,
        "job": job,
    }


def strict_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, +-Infinity) replaced by None, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_outputs(spec: PerfJobSpec, result: PerfResult, output: Path, started: float) -> None:
    document = PerfDocument.model_validate(strict_json(perf_document(spec, result, started))).model_dump(mode="json")
    text = json.dumps(document, indent=2, allow_nan=False)  # strict JSON: no NaN or Infinity
    (output / "perf.json").write_text(text + "\n", encoding="utf-8")
    tables = [t for t in result.tables if t.num_rows]
    schema = RECORD_SCHEMA.append(pa.field("run", pa.int32()))
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    pq.write_table(table, output / "records.parquet")
    if spec.html and result.runs:
        from evalray.loadgen.report_html import write_report

        write_report(document, table, output / "report.html")
