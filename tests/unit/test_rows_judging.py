"""The judge columns of the row schema: declared once with their Arrow types, and a judgment row survives the trip
through an Arrow table (as between the judge stages)."""

from __future__ import annotations

import pyarrow as pa

from evalray import rows
from evalray.types import Request, Sample

SAMPLE = Sample(id="81", benchmark="mt_bench", subset="writing", input="q1", target="",
                metadata={"turns": ["q1", "q2"]})


def test_judge_columns_are_declared_once_and_typed():
    names = [c.name for c in rows.JUDGE_COLUMNS]
    assert len(names) == len(set(names))
    assert not set(names) & {c.name for c in rows.ALL_COLUMNS if c not in rows.JUDGE_COLUMNS}
    assert rows.COLUMN_TYPES["verdict_value"] == pa.float64()
    assert rows.COLUMN_TYPES["answers"] == pa.list_(pa.string())
    assert set(rows.judge_defaults()) == set(names)


def test_a_judgment_row_survives_the_arrow_trip_with_its_turn():
    request = Request(kind="generate", messages=({"role": "user", "content": "q1"},
                                                 {"role": "assistant", "content": "a1"},
                                                 {"role": "user", "content": "q2"}), turn=1, uid=SAMPLE.uid)
    row = {**rows.request_row(SAMPLE, request, "alpha", "generate"), **rows.judge_defaults(),
           "judge": "gpt", "judge_game": 2, "opponent": "beta", "answers": ["a1", "a2"], "verdict": "A>>B",
           "verdict_value": 1.0, "verdict_weight": 3.0, "answered_at": 1.5, "judge_sent_at": 2.5}
    back = rows.table_from_rows([row]).to_pylist()[0]
    assert rows.decode_request(back) == request and back["turn"] == 1
    assert {k: back[k] for k in ("judge", "judge_game", "opponent", "answers", "verdict", "verdict_weight")} == {
        "judge": "gpt", "judge_game": 2, "opponent": "beta", "answers": ["a1", "a2"], "verdict": "A>>B",
        "verdict_weight": 3.0}
    table = rows.append_judge_columns(rows.table_from_rows([row]), [{"judge_error": "judge gpt: HTTP 500"}],
                                      ["judge_error"])
    assert table.column("judge_error").to_pylist() == ["judge gpt: HTTP 500"]
    assert table.column("answers").to_pylist() == [["a1", "a2"]]
