"""The one row schema: every contract field has exactly one declared column, and every value survives the trip
through an Arrow table (as between Ray Data stages)."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from evalray import rows
from evalray.types import Generation, Request, Sample, Score

FULL_REQUEST = Request(
    kind="loglikelihood", prompt="The trophy doesn't fit because", messages=({"role": "user", "content": "hi"},),
    continuations=(" it is big.", " it is small."), stop=("\n", "Q:", "</s>", "###", "<|im_end|>"), max_tokens=17,
    repeats=3, uid="winogrande::7", contexts=("The trophy", "The suitcase"),
)
FULL_SAMPLE = Sample(id="7", benchmark="winogrande", subset="xl", input="q", target="1", choices=("a", "b"),
                     metadata={"k": [1, 2], "n": None})
FULL_GENERATION = Generation(texts=["a", "b"], loglikelihoods=[-1.5, -0.25], is_greedy=[True, False],
                             continuation_tokens=[3, 4], error=None)


@pytest.mark.parametrize("contract, columns", [
    (Request, rows.REQUEST_COLUMNS), (Sample, rows.SAMPLE_COLUMNS), (Generation, rows.GENERATION_COLUMNS),
])
def test_every_contract_field_has_one_column(contract, columns):
    fields = {f.name for f in dataclasses.fields(contract)} - {"uid"}  # a request's uid is the row's uid column
    carried = [c.field for c in columns if c.field != "uid"]
    assert sorted(carried) == sorted(fields), "declare a Column in evalray/rows.py for every field"


def _through_arrow(row: dict) -> dict:
    return rows.table_from_rows([row]).to_pylist()[0]


def test_a_request_with_every_field_set_survives_the_arrow_trip():
    row = _through_arrow(rows.request_row(FULL_SAMPLE, FULL_REQUEST, "m", "loglikelihood"))
    assert rows.decode_request(row) == FULL_REQUEST
    assert rows.decode_sample(row) == FULL_SAMPLE
    assert row["model"] == "m" and row["mode"] == "loglikelihood"


def test_declared_types_are_used_even_for_empty_values():
    table = rows.table_from_rows([rows.request_row(FULL_SAMPLE, Request(kind="generate"), "m", "generate")])
    rows.validate_request_table(table, "test")
    assert table.schema.field("contexts").type == pa.list_(pa.string())
    assert table.schema.field("max_tokens").type == pa.int64()
    assert rows.decode_request(table.to_pylist()[0]) == Request(kind="generate", uid=FULL_SAMPLE.uid)


def test_generations_are_appended_and_other_columns_pass_through():
    table = rows.table_from_rows([{**rows.request_row(FULL_SAMPLE, FULL_REQUEST, "m", "loglikelihood"),
                                   "extra_column": "kept"}])
    out = rows.append_generations(table, [FULL_GENERATION], "actor-1", "node-1")
    row = out.to_pylist()[0]
    assert rows.decode_generation(row) == FULL_GENERATION
    assert row["served_by"] == "actor-1" and row["node_id"] == "node-1" and row["extra_column"] == "kept"
    assert rows.decode_request(row) == FULL_REQUEST  # nothing of the request was lost on the way out


def test_a_stage_refuses_rows_without_the_request_columns_in_one_line():
    table = pa.table({"uid": ["a"], "kind": ["generate"]})
    with pytest.raises(rows.RowSchemaError, match="no 'id' column"):
        rows.validate_request_table(table, "generate stage of model 'm'")
    bad = rows.table_from_rows([rows.request_row(FULL_SAMPLE, FULL_REQUEST, "m", "loglikelihood")])
    bad = bad.set_column(bad.schema.get_field_index("max_tokens"), "max_tokens", pa.array(["17"]))
    with pytest.raises(rows.RowSchemaError, match="'max_tokens' is string, expected int64"):
        rows.validate_request_table(bad, "stage")


def test_scores_are_typed_maps_and_pooled_lists_stay_lists():
    score = Score(values={"acc": 1.0, "inst_level": [1.0, 0.0, 1.0]}, extracted="B")
    table = rows.append_scores(rows.table_from_rows([{"uid": "x"}]), [{**rows.encode_score(score, "out"), "error": None}])
    assert table.schema.field("scores").type == pa.map_(pa.string(), pa.float64())
    row = table.to_pylist()[0]
    assert rows.score_values(row) == {"acc": 1.0, "inst_level": [1.0, 0.0, 1.0]}
    assert row["extracted"] == "B" and row["output"] == "out"
