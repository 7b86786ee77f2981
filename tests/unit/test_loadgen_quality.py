"""Quality-under-load figures from hand-made records (no server): a failed request scores 0, correct answers outside
the SLO are counted apart, goodput of correct answers divides by the point's duration."""

from __future__ import annotations

import pyarrow as pa

from evalray.job.perf_spec import parse_slos
from evalray.loadgen.quality import QualityPlan, quality_figures
from evalray.loadgen.records import records_to_table
from evalray.types import RequestRecord, Sample, Score


class Exact:
    """A stand-in benchmark: the answer is right when it equals the target."""

    metrics = ("exact_match",)

    def score(self, sample, generation, mode):
        return Score(values={"exact_match": float(generation.text == sample.target)})


def _record(i: int, ttft: float, error: str | None = None) -> RequestRecord:
    return RequestRecord(request_id=i, worker=0, intended_send=i, actual_send=i, chunk_times=[i + ttft], end=i + 1.0,
                         status=200 if error is None else 500, error=error, prompt_tokens=3, completion_tokens=2,
                         chunks=1)


def test_accuracy_slo_and_goodput_of_correct_answers():
    samples = [Sample(id=str(k), benchmark="toy", subset=None, input="q", target=t) for k, t in enumerate(["4", "9"])]
    plan = QualityPlan(Exact(), samples, ["generate", "generate"], "exact_match", "toy")
    # requests 0..4 ask samples 0, 1, 0, 1, 0; request 3 failed; request 2 answered wrongly; request 4 is slow
    records = [_record(0, 0.1), _record(1, 0.1), _record(2, 0.1), _record(3, 0.1, "http_500"), _record(4, 0.9)]
    table = records_to_table(records)
    table = table.append_column("answer", pa.array(["4", "9", "5", None, "4"], pa.string()))
    figures = quality_figures(table, plan, parse_slos("ttft_p99=500ms"))
    assert figures["requests"] == 5 and figures["scored"] == 4 and figures["failed"] == 1
    assert figures["accuracy"] == 0.6 and figures["accuracy_answered"] == 0.75  # 3 right of 5 sent, of 4 answered
    assert figures["correct"] == 3 and figures["correct_within_slo"] == 2 and figures["correct_violating_slo"] == 1
    assert figures["goodput_correct"] == 0.4  # 2 correct within the SLO over the 5 s from the first send to the end
    no_slo = quality_figures(table, plan, [])
    assert no_slo["correct_within_slo"] == 3 and no_slo["goodput_correct"] == 0.6
