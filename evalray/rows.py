"""The one row schema between Ray Data stages.

Every column that carries a :class:`~evalray.types.Sample`, a :class:`~evalray.types.Request`, a
:class:`~evalray.types.Generation` or a :class:`~evalray.types.Score` through the pipeline is declared here once, with
its Arrow type, and encoded/decoded only here. Stages (evalray's actor pools, the openai stage, the vLLM chain, the
scoring tasks, judges) take Arrow tables (or dict rows) and use :func:`read_requests`, :func:`append_generations`,
:func:`decode_sample`, ... — never their own column lists. Adding a field to a dataclass of the contract means adding
one :class:`Column` here (``tests/unit/test_rows.py`` fails until every field has one).

Columns not declared here travel through every stage untouched (Ray Data keeps them; stages append, never select).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import pyarrow as pa

from evalray.types import Generation, Request, Sample, Score


@dataclass(frozen=True)
class Column:
    """One pipeline column: its name, Arrow type, the contract field it carries and how a value is encoded."""

    name: str
    type: pa.DataType
    field: str  # the dataclass field it carries ("" for row-level columns)
    encode: Callable[[Any], Any] = lambda v: v
    decode: Callable[[Any], Any] = lambda v: v


def _json_encode(value: Any) -> str:
    return json.dumps(value if not isinstance(value, tuple) else list(value), ensure_ascii=False, sort_keys=True)


def _json_decode(value: Any) -> Any:
    return json.loads(value) if value else None


def _tuple(value: Any) -> tuple:
    return tuple(value) if value is not None else ()


def _list(value: Any) -> list:
    return list(value) if value is not None else []


STRINGS = pa.list_(pa.string())
FLOATS = pa.list_(pa.float64())

# ---- the sample (and the row's identity) ---------------------------------------------------------------------------
SAMPLE_COLUMNS: tuple[Column, ...] = (
    Column("uid", pa.string(), "uid"),  # "<benchmark>::<id>", the row's stable key
    Column("id", pa.string(), "id", str, str),
    Column("benchmark", pa.string(), "benchmark"),
    Column("subset", pa.string(), "subset", decode=lambda v: v if v not in ("", None) else None),
    Column("input", pa.string(), "input"),
    Column("target", pa.string(), "target", str, lambda v: "" if v is None else str(v)),
    Column("choices", STRINGS, "choices", _list, _tuple),
    Column("metadata", pa.string(), "metadata", _json_encode, lambda v: _json_decode(v) or {}),
)
ROW_COLUMNS: tuple[Column, ...] = (
    Column("model", pa.string(), ""),  # the model (job name) that answers this row
    Column("mode", pa.string(), ""),  # the benchmark's scoring mode: generate | loglikelihood
)
# ---- the request ---------------------------------------------------------------------------------------------------
REQUEST_COLUMNS: tuple[Column, ...] = (
    Column("kind", pa.string(), "kind"),
    Column("prompt", pa.string(), "prompt", lambda v: v or "", lambda v: v or ""),
    Column("messages", pa.string(), "messages", lambda v: _json_encode(list(v)), lambda v: tuple(_json_decode(v) or ())),
    Column("continuations", STRINGS, "continuations", _list, _tuple),
    Column("contexts", STRINGS, "contexts", _list, _tuple),
    Column("stop", STRINGS, "stop", _list, _tuple),
    Column("max_tokens", pa.int64(), "max_tokens", lambda v: int(v or 0), lambda v: int(v or 0) or None),
    Column("repeats", pa.int64(), "repeats", lambda v: int(v or 1), lambda v: int(v or 1)),
    Column("turn", pa.int64(), "turn", lambda v: int(v or 0), lambda v: int(v or 0)),
)
# ---- the generation and who made it --------------------------------------------------------------------------------
GENERATION_COLUMNS: tuple[Column, ...] = (
    Column("texts", STRINGS, "texts", lambda v: [str(t) for t in v], lambda v: [str(t) for t in _list(v)]),
    Column("loglikelihoods", FLOATS, "loglikelihoods", lambda v: [float(x) for x in v],
           lambda v: [float(x) for x in _list(v)]),
    Column("is_greedy", pa.list_(pa.bool_()), "is_greedy", lambda v: [bool(x) for x in v],
           lambda v: [bool(x) for x in _list(v)]),
    Column("continuation_tokens", pa.list_(pa.int64()), "continuation_tokens", lambda v: [int(x) for x in v],
           lambda v: [int(x) for x in _list(v)]),
    Column("error", pa.string(), "error", lambda v: v or None, lambda v: v or None),
)
IDENTITY_COLUMNS: tuple[Column, ...] = (
    Column("served_by", pa.string(), ""),  # the actor (or engine) that answered
    Column("node_id", pa.string(), ""),  # the Ray node it ran on
)
# ---- the score -----------------------------------------------------------------------------------------------------
SCORE_COLUMNS: tuple[Column, ...] = (
    Column("scores", pa.map_(pa.string(), pa.float64()), "values"),  # metric -> one observation
    Column("score_lists", pa.map_(pa.string(), FLOATS), "values"),  # metric -> observations pooled across samples
    Column("extracted", pa.string(), "extracted"),
    Column("output", pa.string(), ""),  # the first generated text, for reading
)
# ---- judging (evalray.pipeline.judging): who judged which answers, what it was asked, what it said ---------------
JUDGE_COLUMNS: tuple[Column, ...] = (
    Column("judge", pa.string(), ""),  # the judge (job name); "" on a model's answer record
    Column("judge_game", pa.int64(), ""),  # 0 single grading; 1 the model in position A; 2 swapped (B)
    Column("judge_repeat", pa.int64(), ""),  # 0-based repeat of the same judgment by the same judge
    Column("opponent", pa.string(), ""),  # pairwise: the other model of the game ("" for single grading)
    Column("answers", STRINGS, ""),  # the model's answers, turn by turn up to this row's turn
    Column("opponent_answers", STRINGS, ""),  # pairwise: the opponent's answers
    Column("answer_error", pa.string(), ""),  # why the model's answer failed (then nothing is judged)
    Column("judge_prompt", pa.string(), ""),  # the user prompt the judge was sent
    Column("judgment", pa.string(), ""),  # the judge's raw text
    Column("verdict", pa.string(), ""),  # the parsed verdict label ("8", "A", "A>>B", "m")
    Column("verdict_value", pa.float64(), ""),  # rating, or the preference for position A in [0, 1]
    Column("verdict_weight", pa.float64(), ""),  # battles the verdict counts for (Arena-Hard strong verdicts: 3)
    Column("judge_error", pa.string(), ""),  # call failed / timed out / unparsable: never a verdict
    Column("answered_by", pa.string(), ""),  # the model actor that answered (served_by is the judge's after its stage)
    Column("answered_on", pa.string(), ""),  # the node it ran on
    Column("answered_at", pa.float64(), ""),  # unix time the model's answer left its generate stage
    Column("judge_sent_at", pa.float64(), ""),  # unix time the judge request was built
    Column("judged_at", pa.float64(), ""),  # unix time the verdict was parsed
    Column("judge_request_kind", pa.string(), ""),  # the judge request's kind while other judges' stages skip it
    Column("verdict_format", pa.string(), ""),  # rating | pair | five | logprob | ranking | json
    Column("replayed", pa.bool_(), ""),  # an earlier round's answer fed to a later round (not recorded twice)
)
# ---- embedding models and rerankers (evalray.models.embedding_stage, evalray.pipeline.embedding_runner) ---------
EMBEDDING_TYPE = pa.list_(pa.float32())
EMBEDDING_COLUMNS: tuple[Column, ...] = (
    Column("role", pa.string(), ""),  # query | document: which prompt the encoder puts before the text
    Column("text", pa.string(), ""),  # the text to encode
    Column("embedding", EMBEDDING_TYPE, ""),  # the encoder's vector
    Column("query", pa.string(), ""),  # rerank: the query of a pair
    Column("document", pa.string(), ""),  # rerank: the document of a pair
    Column("rerank_score", pa.float64(), ""),  # rerank: the reranker's relevance score
    Column("retrieved", STRINGS, ""),  # per-query result row: the top-k document ids, best first
    Column("retrieved_scores", FLOATS, ""),  # their scores
    Column("relevant", pa.string(), ""),  # per-query result row: the qrels as a JSON object {doc id: grade}
    Column("metric_errors", pa.string(), ""),  # rag: JSON {metric: why it failed}; a failed metric has no value
    Column("judge_calls", pa.int64(), ""),  # rag: judge requests the sample took
)
ALL_COLUMNS: tuple[Column, ...] = (SAMPLE_COLUMNS + ROW_COLUMNS + REQUEST_COLUMNS + GENERATION_COLUMNS
                                   + IDENTITY_COLUMNS + SCORE_COLUMNS + JUDGE_COLUMNS + EMBEDDING_COLUMNS)
COLUMN_TYPES: dict[str, pa.DataType] = {c.name: c.type for c in ALL_COLUMNS}
REQUEST_ROW_COLUMNS = SAMPLE_COLUMNS + ROW_COLUMNS + REQUEST_COLUMNS
OUTPUT_COLUMNS = tuple(c.name for c in GENERATION_COLUMNS + IDENTITY_COLUMNS)


class RowSchemaError(ValueError):
    """A stage got rows that miss a declared column or carry one of the wrong type."""


# ---- encoding ------------------------------------------------------------------------------------------------------
def encode_sample(sample: Sample) -> dict[str, Any]:
    return {c.name: c.encode(getattr(sample, c.field)) for c in SAMPLE_COLUMNS}


def decode_sample(row: Mapping[str, Any]) -> Sample:
    return Sample(**{c.field: c.decode(row.get(c.name)) for c in SAMPLE_COLUMNS if c.field != "uid"})


def encode_request(request: Request) -> dict[str, Any]:
    return {c.name: c.encode(getattr(request, c.field)) for c in REQUEST_COLUMNS}


def decode_request(row: Mapping[str, Any]) -> Request:
    values = {c.field: c.decode(row.get(c.name)) for c in REQUEST_COLUMNS}
    return Request(uid=str(row.get("uid") or ""), **values)


def encode_generation(generation: Generation, served_by: str, node_id: str) -> dict[str, Any]:
    row = {c.name: c.encode(getattr(generation, c.field)) for c in GENERATION_COLUMNS}
    row.update(served_by=served_by, node_id=node_id)
    return row


def decode_generation(row: Mapping[str, Any]) -> Generation:
    return Generation(**{c.field: c.decode(row.get(c.name)) for c in GENERATION_COLUMNS})


def request_row(sample: Sample, request: Request, model: str, mode: str) -> dict[str, Any]:
    """The full row that enters a model's generate stage."""
    return {**encode_sample(sample), "model": model, "mode": mode, **encode_request(request)}


def encode_score(score: Score | None, output: str) -> dict[str, Any]:
    values = score.values if score else {}
    return {
        "scores": {k: float(v) for k, v in values.items() if not isinstance(v, list)},
        "score_lists": {k: [float(x) for x in v] for k, v in values.items() if isinstance(v, list)},
        "extracted": score.extracted if score else None,
        "output": output,
    }


def score_values(row: Mapping[str, Any]) -> dict[str, float | list[float]]:
    """A scored row's metric values (scalars and pooled lists), whether maps arrive as dicts or (key, value) pairs."""
    values: dict[str, float | list[float]] = {}
    for name in ("scores", "score_lists"):
        mapping = row.get(name)
        if mapping is None:
            continue
        items = mapping.items() if isinstance(mapping, Mapping) else mapping
        for key, value in items:
            values[str(key)] = [float(x) for x in value] if name == "score_lists" else float(value)
    return values


# ---- tables --------------------------------------------------------------------------------------------------------
def table_from_rows(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Rows -> an Arrow table; declared columns get their declared types, others are inferred."""
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    arrays = {n: pa.array([r.get(n) for r in rows], type=COLUMN_TYPES.get(n)) for n in names}
    return pa.table(arrays) if arrays else pa.table({})


def validate_request_table(table: pa.Table, stage: str) -> None:
    """Fail with one clear line when a stage is handed rows without the request columns (or of another type)."""
    for column in REQUEST_ROW_COLUMNS:
        if column.name not in table.column_names:
            raise RowSchemaError(f"{stage}: input rows have no '{column.name}' column (see evalray.rows)")
        actual = table.schema.field(column.name).type
        if actual != column.type and not pa.types.is_null(actual):
            raise RowSchemaError(f"{stage}: column '{column.name}' is {actual}, expected {column.type}")


def read_requests(table: pa.Table) -> list[Request]:
    names = ["uid"] + [c.name for c in REQUEST_COLUMNS]
    return [decode_request(row) for row in table.select(names).to_pylist()]


def append_columns(table: pa.Table, rows: Sequence[Mapping[str, Any]], columns: Iterable[Column]) -> pa.Table:
    """Add (or replace) declared columns from per-row dicts, keeping every other column of ``table``."""
    for column in columns:
        array = pa.array([row[column.name] for row in rows], type=column.type)
        if column.name in table.column_names:
            table = table.drop_columns([column.name])
        table = table.append_column(column.name, array)
    return table


def append_generations(table: pa.Table, generations: Sequence[Generation], served_by: str, node_id: str) -> pa.Table:
    rows = [encode_generation(g, served_by, node_id) for g in generations]
    return append_columns(table, rows, GENERATION_COLUMNS + IDENTITY_COLUMNS)


def append_scores(table: pa.Table, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The score columns, and ``error`` updated (a scorer that fails records its error on the sample)."""
    error = next(c for c in GENERATION_COLUMNS if c.name == "error")
    return append_columns(table, rows, SCORE_COLUMNS + (error,))


def judge_defaults() -> dict[str, Any]:
    """The judge columns of a row that is not (yet) a judgment."""
    return {"judge": "", "judge_game": 0, "judge_repeat": 0, "opponent": "", "answers": [], "opponent_answers": [],
            "answer_error": None, "judge_prompt": "", "judgment": None, "verdict": None, "verdict_value": None,
            "verdict_weight": None, "judge_error": None, "answered_by": None, "answered_on": None,
            "answered_at": None, "judge_sent_at": None, "judged_at": None,
            "judge_request_kind": "", "verdict_format": "", "replayed": False}


def append_judge_columns(table: pa.Table, rows: Sequence[Mapping[str, Any]], names: Iterable[str]) -> pa.Table:
    """Add (or replace) the named judge columns from per-row dicts."""
    wanted = set(names)
    return append_columns(table, rows, [c for c in JUDGE_COLUMNS if c.name in wanted])
