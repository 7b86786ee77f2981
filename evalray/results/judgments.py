"""``judgments/<benchmark>.parquet``: one row per judge call of a judged benchmark — the judged model and its
opponent, the judge, game order (1: the model in position A, 2: swapped, 0: single grading), repeat, turn, the
judge prompt, the raw judgment, the parsed verdict and value, the judge error, and the timestamps that show the
stream (answer arrived, judge request sent, verdict parsed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from evalray.rows import COLUMN_TYPES

JUDGMENT_COLUMNS = (
    "uid", "id", "subset", "model", "opponent", "judge", "judge_game", "judge_repeat", "turn", "verdict_format",
    "judge_prompt", "judgment", "verdict", "verdict_value", "verdict_weight", "judge_error", "answered_at",
    "judge_sent_at", "judged_at", "served_by",
)


def judgment_table(records: Sequence[Mapping[str, Any]]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in records], type=COLUMN_TYPES.get(c, pa.string()))
                     for c in JUDGMENT_COLUMNS})


def write_judgments(directory: Path, judgments: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    for benchmark, records in judgments.items():
        path = directory / "judgments" / f"{benchmark}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(judgment_table(records), path)
