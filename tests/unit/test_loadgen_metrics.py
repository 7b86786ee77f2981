"""Metrics from a recorded fixture whose figures were computed by hand with the vLLM ``bench serve`` formulas:
ttft = first chunk - send, tpot = (e2e - ttft) / (output_tokens - 1) for output_tokens > 1, itl = gaps between
chunks after the first (pooled), throughput = completed / duration, percentiles linearly interpolated."""

from __future__ import annotations

import math

import pytest

from evalray.errors import ConfigError
from evalray.job.perf_spec import parse_slos
from evalray.loadgen.metrics import compute_metrics, max_in_flight
from evalray.loadgen.records import records_to_table, table_to_records
from evalray.types import RequestRecord


def record(rid, intended, actual, chunks, end, completion, prompt, status=200, error=None, warmup=False):
    return RequestRecord(request_id=rid, worker=rid % 2, intended_send=intended, actual_send=actual,
                         chunk_times=chunks, end=end, status=status, error=error, prompt_tokens=prompt,
                         completion_tokens=completion, chunks=len(chunks), warmup=warmup)


FIXTURE = [
    # ttft 100 ms, e2e 170 ms, tpot (170-100)/3 = 23.333 ms, itl 20, 30, 10 ms
    record(0, 0.0, 0.0, [0.100, 0.120, 0.150, 0.160], 0.170, completion=4, prompt=10),
    # ttft 200 ms, e2e 250 ms, tpot 50 ms, itl 50 ms
    record(1, 0.05, 0.05, [0.250, 0.300], 0.300, completion=2, prompt=20),
    # an HTTP 500: counted as an error, in no latency figure
    record(2, 0.1, 0.1, [], 0.11, completion=0, prompt=9, status=500, error="http_500"),
    # one token: ttft 60 ms, e2e 70 ms, no tpot, no itl
    record(3, 0.2, 0.2, [0.26], 0.27, completion=1, prompt=5),
    # warm-up: left out of everything (it would dominate every figure)
    record(4, 0.0, 0.0, [5.0], 9.0, completion=2, prompt=100, warmup=True),
    # sent 20 ms late; two chunks of 3 tokens: ttft 80, e2e 130, tpot (130-80)/5 = 10, itl 40, per token 40/3
    record(5, 0.3, 0.32, [0.40, 0.44], 0.45, completion=6, prompt=7),
]


@pytest.fixture(scope="module")
def figures():
    return compute_metrics(records_to_table(FIXTURE), parse_slos("ttft_p99=150ms,tpot_p99=60ms"))


def test_counts_and_errors(figures):
    assert figures["requests"] == 5
    assert figures["ok"] == 4
    assert figures["errors"] == {"http_500": 1}


def test_throughput_over_the_measured_span(figures):
    # duration = last end 0.45 - first send 0.0
    assert figures["duration_s"] == pytest.approx(0.45)
    assert figures["request_throughput"] == pytest.approx(4 / 0.45, abs=1e-3)
    assert figures["output_token_throughput"] == pytest.approx(13 / 0.45, abs=1e-3)
    assert figures["total_token_throughput"] == pytest.approx((42 + 13) / 0.45, abs=1e-3)


def test_ttft(figures):
    ttft = figures["ttft_ms"]  # values 100, 200, 60, 80
    assert ttft["mean"] == pytest.approx(110)
    assert ttft["std"] == pytest.approx(math.sqrt(2900), abs=1e-3)
    assert ttft["min"] == pytest.approx(60) and ttft["max"] == pytest.approx(200)
    assert ttft["p50"] == pytest.approx(90)
    assert ttft["p99"] == pytest.approx(197)  # 100 + 0.97 * (200 - 100)


def test_tpot_excludes_one_token_answers(figures):
    tpot = figures["tpot_ms"]  # 23.333, 50, 10
    assert tpot["mean"] == pytest.approx((70 / 3 + 50 + 10) / 3, abs=1e-3)
    assert tpot["p50"] == pytest.approx(70 / 3, abs=1e-3)


def test_itl_pools_gaps_and_never_includes_ttft(figures):
    itl = figures["itl_ms"]  # 20, 30, 10, 50, 40
    assert itl["mean"] == pytest.approx(30)
    assert itl["p50"] == pytest.approx(30)
    assert itl["min"] == pytest.approx(10) and itl["max"] == pytest.approx(50)
    per_token = figures["itl_per_token_ms"]  # 20, 30, 10, 50 (1 token per chunk), 40/3
    assert per_token["min"] == pytest.approx(10) and per_token["p50"] == pytest.approx(20)


def test_e2e_and_queue(figures):
    assert figures["e2e_ms"]["mean"] == pytest.approx((170 + 250 + 70 + 130) / 4)
    assert figures["e2e_ms"]["p50"] == pytest.approx(150)
    assert figures["queue_ms"]["max"] == pytest.approx(20)
    assert figures["queue_ms"]["mean"] == pytest.approx(4)


def test_goodput_and_slo_verdict(figures):
    # requests 0, 3 and 5 meet ttft <= 150 and tpot <= 60 (tpot p99 = 23.33 + 0.98 * 26.67 = 49.47); request 1 (ttft 200) does not
    assert figures["goodput"] == pytest.approx(3 / 0.45, abs=1e-3)
    assert figures["slo"]["checks"]["ttft_p99"]["met"] is False
    assert figures["slo"]["checks"]["tpot_p99"]["met"] is True
    assert figures["slo"]["checks"]["tpot_p99"]["value_ms"] == pytest.approx(70 / 3 + 0.98 * (50 - 70 / 3), abs=1e-3)
    assert figures["slo"]["met"] is False


def test_records_round_trip():
    assert table_to_records(records_to_table(FIXTURE)) == FIXTURE


def test_empty_run_has_null_statistics():
    figures = compute_metrics(records_to_table([]))
    assert figures["requests"] == 0 and figures["ttft_ms"]["p50"] is None


def test_slo_parsing():
    slos = parse_slos("ttft_p99=0.5s,tpot_p50=50,e2e_mean=200ms")
    assert [(s.metric, s.stat, s.threshold_ms) for s in slos] == [("ttft", "p99", 500.0), ("tpot", "p50", 50.0),
                                                                    ("e2e", "mean", 200.0)]
    with pytest.raises(ConfigError):
        parse_slos("latency_p99=5ms")
    with pytest.raises(ConfigError):
        parse_slos("ttft_p99=fast")


def test_most_requests_in_flight_at_once():
    # intervals [0, .17], [.05, .30], [.1, .11], [.2, .27], [0, 9] (warm-up counts: it was open), [.32, .45]
    assert max_in_flight(records_to_table(FIXTURE)) == 4  # at t = 0.1: requests 0, 1, 2 and 4
    assert max_in_flight(records_to_table(FIXTURE[:1] + FIXTURE[5:])) == 1
