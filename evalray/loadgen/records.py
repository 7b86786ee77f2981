"""Raw per-request records as columnar Arrow tables (the unit workers ship and ``records.parquet`` stores).

Times are seconds since the run's common start, on each worker's monotonic clock mapped to that start.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from evalray.types import RequestRecord

RECORD_SCHEMA = pa.schema([
    ("request_id", pa.int64()),
    ("worker", pa.int32()),
    ("intended_send", pa.float64()),
    ("actual_send", pa.float64()),
    ("end", pa.float64()),
    ("status", pa.int32()),
    ("error", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("completion_tokens", pa.int32()),
    ("chunks", pa.int32()),
    ("warmup", pa.bool_()),
    ("chunk_times", pa.list_(pa.float64())),
])


def rows_to_table(rows: Sequence[tuple], worker: int) -> pa.Table:
    """Engine rows ``(id, intended, actual, end, status, error, prompt_tokens, completion_tokens, chunk_times,
    warmup)`` -> a table with :data:`RECORD_SCHEMA`."""
    n = len(rows)
    if n == 0:
        return RECORD_SCHEMA.empty_table()
    columns = list(zip(*rows))
    chunk_lists = columns[8]
    lengths = np.fromiter((len(c) for c in chunk_lists), dtype=np.int32, count=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.fromiter((t for c in chunk_lists for t in c), dtype=np.float64, count=int(offsets[-1]))
    arrays = [
        pa.array(columns[0], pa.int64()),
        pa.array(np.full(n, worker, dtype=np.int32)),
        pa.array(columns[1], pa.float64()),
        pa.array(columns[2], pa.float64()),
        pa.array(columns[3], pa.float64()),
        pa.array(columns[4], pa.int32()),
        pa.array(columns[5], pa.string()),
        pa.array(columns[6], pa.int32()),
        pa.array(columns[7], pa.int32()),
        pa.array(lengths),
        pa.array(columns[9], pa.bool_()),
        pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat)),
    ]
    return pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)


def records_to_table(records: Iterable[RequestRecord]) -> pa.Table:
    """:class:`RequestRecord` objects -> a table (for fixtures and tests)."""
    records = list(records)
    if not records:
        return RECORD_SCHEMA.empty_table()
    data = {name: [getattr(r, name) for r in records] for name in RECORD_SCHEMA.names}
    return pa.Table.from_pydict(data, schema=RECORD_SCHEMA)


def table_to_records(table: pa.Table) -> list[RequestRecord]:
    return [RequestRecord(**row) for row in table.to_pylist()]


def concat(tables: Iterable[pa.Table]) -> pa.Table:
    tables = [t for t in tables if t.num_rows]
    return pa.concat_tables(tables) if tables else RECORD_SCHEMA.empty_table()
