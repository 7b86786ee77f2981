"""Server-side metrics: scrape the server's Prometheus endpoint (vLLM's ``/metrics``) from the driver during a run
point, in a background thread, bounded in count (``max_samples``) and time (``timeout_s`` per scrape, stopped with
the point). A failed scrape is counted by kind and never fails the run.

Each sample keeps, per metric name, the sum over its label sets (e.g. vLLM's ``model_name`` / ``engine``); a counter
is asked for by its name with or without ``_total``. The text is parsed with ``prometheus_client.parser`` (it comes
with Ray). Times are seconds since the point's common start (the records' clock): the first scrape, just before
the start, is negative.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from evalray.job.perf_spec import ServerMetricsSpec

KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")  # vLLM >= 0.10, older
PREFIX_HITS, PREFIX_QUERIES = "vllm:prefix_cache_hits", "vllm:prefix_cache_queries"
DEFAULT_METRICS = (*KV_USAGE, PREFIX_HITS, PREFIX_QUERIES, "vllm:num_requests_running", "vllm:num_requests_waiting",
                   "vllm:request_success")
MAX_BODY = 16 << 20  # a /metrics page larger than this is an error ("too_large")


def metrics_url(target_url: str, given: str | None) -> str:
    """The scrape URL: ``given``, else the target's scheme://host:port/metrics."""
    if given:
        return given
    parts = urlsplit(target_url)
    return f"{parts.scheme}://{parts.netloc}/metrics"


def parse_metrics(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """Prometheus exposition text -> {name: sum over label sets} for the wanted ``names`` (a counter's ``_total``
    sample counts for its bare name). Names absent from the page are absent from the result."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = set(names)
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name not in wanted and name.endswith("_total") and name[:-6] in wanted:
                name = name[:-6]
            if name in wanted:
                values[name] = values.get(name, 0.0) + float(sample.value)
    return values


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"http_{exc.code}"
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or "timed out" in str(exc):
        return "timeout"
    if isinstance(exc, (urllib.error.URLError, ConnectionError, OSError)):
        return "connect"
    return "parse"


class Scraper:
    """One run point's scrapes: ``start()`` before the fleet runs, ``stop(start_wall)`` after; ``stop`` returns the
    ``server_metrics`` entry of the run (see :class:`evalray.results.perf_schema.ServerMetrics`)."""

    def __init__(self, spec: ServerMetricsSpec, target_url: str) -> None:
        self.spec = spec
        self.url = metrics_url(target_url, spec.url)
        self.names = tuple(dict.fromkeys((*DEFAULT_METRICS, *spec.metrics)))
        self.times: list[float] = []
        self.values: list[dict[str, float]] = []
        self.errors: dict[str, int] = {}
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the final scrape may meet a late one of the thread
        self._thread: threading.Thread | None = None

    def scrape_once(self) -> None:
        with self._lock:
            self._scrape()

    def _scrape(self) -> None:
        if len(self.times) >= self.spec.max_samples:
            return
        when = time.time()
        try:
            request = urllib.request.Request(self.url, headers={"Accept": "text/plain"})
            with urllib.request.urlopen(request, timeout=self.spec.timeout_s) as answer:
                body = answer.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise ValueError(f"more than {MAX_BODY} bytes")
            values = parse_metrics(body.decode("utf-8", "replace"), self.names)
        except Exception as exc:  # noqa: BLE001 - a scrape never fails the run; it is counted
            kind = "too_large" if "more than" in str(exc) else _error_kind(exc)
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.last_error = f"{kind}: {exc}"[:300]
            return
        self.times.append(when)
        self.values.append(values)

    def _loop(self) -> None:
        while not self._stop.wait(self.spec.interval_s):
            if len(self.times) >= self.spec.max_samples - 1:  # the last one is kept for the scrape after the end
                return
            self.scrape_once()

    def start(self) -> None:
        self.scrape_once()
        self._thread = threading.Thread(target=self._loop, name="evalray-scrape", daemon=True)
        self._thread.start()

    def stop(self, start_wall: float) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.spec.timeout_s + 1.0)
        self.scrape_once()  # the final state (counters include every request of the point)
        return summarize_series(self.url, self.spec.interval_s, [t - start_wall for t in self.times], self.values,
                                self.names, self.errors, self.last_error)


def _delta(first: dict[str, float], last: dict[str, float], name: str) -> float | None:
    if name in first and name in last:
        return max(last[name] - first[name], 0.0)
    return None


def summarize_series(url: str, interval_s: float, times: list[float], values: list[dict[str, float]],
                     names: tuple[str, ...], errors: dict[str, int], last_error: str | None) -> dict[str, Any]:
    """The run's ``server_metrics`` entry: the series (one list per metric present, None where a scrape lacked it),
    min/mean/max/last per metric, and the point's prefix-cache hit rate (delta of hits over delta of queries)."""
    present = [n for n in names if any(n in v for v in values)]
    series = {n: [v.get(n) for v in values] for n in present}
    stats = {}
    for name, points in series.items():
        known = [p for p in points if p is not None]
        stats[name] = {"min": min(known), "max": max(known), "mean": sum(known) / len(known), "last": known[-1]}
    hits = _delta(values[0], values[-1], PREFIX_HITS) if values else None
    queries = _delta(values[0], values[-1], PREFIX_QUERIES) if values else None
    kv = next((n for n in KV_USAGE if n in series), None)
    return {
        "url": url, "interval_s": interval_s, "samples": len(times), "errors": dict(errors),
        "error_count": sum(errors.values()), "last_error": last_error,
        "t": [round(t, 4) for t in times], "series": series, "stats": stats,
        "kv_cache_usage_max": stats[kv]["max"] if kv else None,
        "prefix_cache_hits": hits, "prefix_cache_queries": queries,
        "prefix_cache_hit_rate": hits / queries if hits is not None and queries else None,  # None: no queries
    }
