"""Server-side metrics: Prometheus text -> per-name sums, the run's server_metrics entry (prefix-cache hit rate from
counter deltas), and a scraper that counts failures instead of raising (in process, no subprocess)."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from evalray.errors import ConfigError
from evalray.job.perf_spec import PerfJobSpec, ServerMetricsSpec
from evalray.loadgen.scrape import Scraper, metrics_url, parse_metrics, summarize_series
from evalray.results.perf_schema import ServerMetrics

PAGE = """# HELP vllm:num_requests_running Running.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="a"} 3.0
vllm:num_requests_running{engine="1",model_name="a"} 2.0
# TYPE vllm:prefix_cache_hits_total counter
vllm:prefix_cache_hits_total{engine="0"} 48.0
# TYPE vllm:prefix_cache_queries counter
vllm:prefix_cache_queries_total{engine="0"} 100.0
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{le="0.1"} 4.0
vllm:time_to_first_token_seconds_count 4.0
vllm:time_to_first_token_seconds_sum 0.2
"""


def test_parse_sums_label_sets_and_maps_counters_to_their_bare_name():
    names = ("vllm:num_requests_running", "vllm:prefix_cache_hits", "vllm:prefix_cache_queries",
             "vllm:num_requests_waiting", "vllm:time_to_first_token_seconds_sum")
    assert parse_metrics(PAGE, names) == {"vllm:num_requests_running": 5.0, "vllm:prefix_cache_hits": 48.0,
                                          "vllm:prefix_cache_queries": 100.0,
                                          "vllm:time_to_first_token_seconds_sum": 0.2}


def test_hit_rate_is_the_delta_of_hits_over_the_delta_of_queries():
    names = ("vllm:prefix_cache_hits", "vllm:prefix_cache_queries", "vllm:kv_cache_usage_perc")
    values = [{"vllm:prefix_cache_hits": 100.0, "vllm:prefix_cache_queries": 1000.0, "vllm:kv_cache_usage_perc": 0.1},
              {"vllm:prefix_cache_hits": 130.0, "vllm:prefix_cache_queries": 1100.0},
              {"vllm:prefix_cache_hits": 160.0, "vllm:prefix_cache_queries": 1200.0, "vllm:kv_cache_usage_perc": 0.5}]
    entry = summarize_series("http://h/metrics", 1.0, [-0.5, 0.5, 1.5], values, names, {"timeout": 1}, "timeout: x")
    ServerMetrics.model_validate(entry)
    assert entry["prefix_cache_hit_rate"] == pytest.approx(60 / 200) and entry["prefix_cache_hits"] == 60
    assert entry["series"]["vllm:kv_cache_usage_perc"] == [0.1, None, 0.5] and entry["kv_cache_usage_max"] == 0.5
    assert entry["samples"] == 3 and entry["error_count"] == 1
    none = summarize_series("u", 1.0, [0.0], [{"vllm:prefix_cache_queries": 5.0}], names, {}, None)
    assert none["prefix_cache_hit_rate"] is None and none["kv_cache_usage_max"] is None  # no hits counter, no queries


def test_default_url_is_the_targets_host_and_port():
    assert metrics_url("https://h:8000/v1/chat/completions", None) == "https://h:8000/metrics"
    assert metrics_url("http://h/v1", "http://m:9/prom") == "http://m:9/prom"


def test_a_failing_endpoint_is_counted_never_raised():
    scraper = Scraper(ServerMetricsSpec(url="http://127.0.0.1:9/metrics", interval_s=0.05, timeout_s=0.5), "http://x/v1")
    scraper.start()
    entry = scraper.stop(0.0)
    assert entry["samples"] == 0 and entry["error_count"] >= 2 and entry["errors"].get("connect", 0) >= 1
    assert entry["last_error"].startswith("connect") and entry["series"] == {}


class _Page(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        body = PAGE.encode() if self.status == 200 else b"no"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status", [200, 404])
def test_scrapes_are_bounded_and_http_errors_counted_by_status(status):
    handler = type("Handler", (_Page,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        scraper = Scraper(ServerMetricsSpec(url=url, interval_s=0.05, max_samples=3), "http://x/v1")
        scraper.start()
        threading.Event().wait(0.4)
        stopping = time.time()
        entry = scraper.stop(0.0)
    finally:
        server.shutdown()
    if status == 200:
        assert entry["samples"] == 3 and entry["series"]["vllm:num_requests_running"] == [5.0] * 3
        assert scraper.times[-1] >= stopping > scraper.times[-2]  # the thread stopped at 2, keeping one for the end
    else:
        assert entry["samples"] == 0 and entry["errors"]["http_404"] >= 3


def test_server_metrics_spec_refuses_bad_values():
    base = {"target": {"url": "http://h/v1", "model": "m"}}
    for bad in ({"url": "ftp://h/metrics"}, {"interval_s": 0}, {"unknown": 1}):
        with pytest.raises((ValueError, ConfigError)):
            PerfJobSpec.model_validate({**base, "server_metrics": bad})
    assert PerfJobSpec.model_validate({**base, "server_metrics": {}}).server_metrics.interval_s == 1.0
