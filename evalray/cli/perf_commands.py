"""``evalray perf`` (load-test an OpenAI-compatible endpoint) and ``evalray mock-server`` (a test endpoint)."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from evalray.errors import ConfigError, EvalrayError


class PerfInterrupted(EvalrayError):
    """Ctrl-C during a perf run: the partial results were written (exit code 130, like an interrupted shell)."""

    exit_code = 130


def _numbers(text: str | None, kind: type, flag: str) -> list[Any] | None:
    if not text:
        return None
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text}: expected a comma-separated list of numbers") from None


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"--header {value}: expected 'Name: value'")
        headers[name.strip()] = content.strip()
    return headers


_FLAGS = {"input_tokens": "--input-dist", "output_tokens": "--output-dist", "sessions": "--sessions",
          "turns": "--turns", "think_time_s": "--think-time", "conversations": "--conversations", "groups": "--groups",
          "prefix_tokens": "--prefix-tokens", "suffix_tokens": "--suffix-dist", "file": "--trace",
          "format": "--trace-format", "speed": "--speed", "max_requests": "--max-requests",
          "max_duration_s": "--max-duration", "name": "--dataset", "data_dir": "--data-dir", "limit": "--limit"}


def _given_only(load: dict[str, Any]) -> dict[str, Any]:
    """The load flags the user changed (so a workload can tell a given key from a default)."""
    from evalray.job.perf_spec import LoadSpec

    return {k: v for k, v in load.items() if v is not None and v != LoadSpec.model_fields[k].default}


def _workload(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The ``workload:`` block from the workload flags; a flag of another workload is one clear error."""
    from evalray.job.perf_workload import WORKLOAD_TYPES as types

    if kind not in types:
        raise ConfigError(f"--workload {kind}: expected one of {', '.join(types)}")
    given = {k: v for k, v in values.items() if v is not None}
    foreign = [_FLAGS[k] for k in given if k not in types[kind].model_fields]
    if foreign:
        raise ConfigError(f"--workload {kind} takes no {', '.join(foreign)}")
    return {"type": kind, **given}


def perf(
    url: str = typer.Option(..., "--url", help="Endpoint: base URL (http://127.0.0.1:8000/v1) or full URL."),
    model: str = typer.Option(..., "--model", help="Model name sent in requests."),
    concurrency: Optional[str] = typer.Option(None, "--concurrency", "-c", help="Closed loop: e.g. 64 or 64,256."),
    rate: Optional[str] = typer.Option(None, "--rate", "-r", help="Open loop req/s: e.g. 50 or 50,100."),
    arrival: str = typer.Option("poisson", help="Open-loop arrivals: poisson, gamma or constant."),
    burstiness: float = typer.Option(1.0, help="Gamma shape for --arrival gamma (<1 burstier)."),
    num_requests: Optional[int] = typer.Option(None, "--num-requests", "-n", help="Requests per run point."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Longest issuing time per point (s)."),
    warmup: int = typer.Option(0, "--warmup", help="Warm-up requests left out of the figures."),
    ramp_up: float = typer.Option(0.0, "--ramp-up", help="Ramp-up time (s)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Load-generator Ray actors."),
    cpus_per_worker: float = typer.Option(0.25, "--cpus-per-worker", help="Ray CPUs per worker."),
    local: bool = typer.Option(False, "--local", help="One worker in this process, without Ray."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address (default: local Ray)."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="One fixed prompt."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="random | benchmark name | ShareGPT .json | "
                                          "one-prompt-per-line file."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Local data of a benchmark dataset."),
    input_tokens: int = typer.Option(128, "--input-tokens", help="Random prompts: length in tokens."),
    input_tokens_range: float = typer.Option(0.0, "--input-tokens-range", help="Random prompts: ± fraction."),
    max_tokens: int = typer.Option(128, "--max-tokens", help="max_tokens of each request."),
    max_tokens_range: float = typer.Option(0.0, "--max-tokens-range", help="max_tokens ± fraction."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="whitespace | builtin:tiny-llama | HF dir."),
    ignore_eos: bool = typer.Option(False, "--ignore-eos", help="Send ignore_eos=true."),
    api: str = typer.Option("chat", "--api", help="chat or completions (for a base URL)."),
    stream: bool = typer.Option(True, "--stream/--no-stream", help="Stream answers (SSE)."),
    header: list[str] = typer.Option([], "--header", "-H", help="Extra header 'Name: value' (repeatable)."),
    api_key_env: Optional[str] = typer.Option(None, "--api-key-env", help="Env variable holding the API key."),
    timeout: float = typer.Option(120.0, "--timeout", help="Per-request timeout (s)."),
    max_connections: Optional[int] = typer.Option(None, "--max-connections", help="Open loop: connection cap."),
    source_addresses: int = typer.Option(1, "--source-addresses", help="Spread connections over 127.0.0.1..N."),
    slo: Optional[str] = typer.Option(None, "--slo", help="e.g. ttft_p99=500ms,tpot_p99=50ms."),
    search: bool = typer.Option(False, "--search", help="Search the highest rate meeting --slo."),
    search_min: float = typer.Option(1.0, "--search-min", help="Search: lowest rate."),
    search_max: float = typer.Option(1000.0, "--search-max", help="Search: highest rate."),
    seed: int = typer.Option(0, "--seed", help="Seed of prompts and arrivals."),
    name: str = typer.Option("perf", "--name", help="Run name."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Output directory (default runs/NAME)."),
    html: bool = typer.Option(True, "--html/--no-html", help="Write report.html."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Live progress on stderr."),
    workload: Optional[str] = typer.Option(None, "--workload", help="synthetic | multi_turn | shared_prefix | "
                                           "trace | benchmark (quality under load: --dataset NAME, scored; "
                                           "default: the prompts flags; trace when --trace is given)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="benchmark: the first N samples of each subset."),
    input_dist: Optional[str] = typer.Option(None, "--input-dist", help="Prompt / user-turn tokens, e.g. 128, "
                                             "uniform:64,256, normal:200,50, lognormal:200,0.5, empirical:FILE."),
    output_dist: Optional[str] = typer.Option(None, "--output-dist", help="max_tokens distribution (same syntax)."),
    sessions: Optional[int] = typer.Option(None, "--sessions", help="multi_turn: sessions per run point."),
    turns: Optional[str] = typer.Option(None, "--turns", help="multi_turn: turns per session (a distribution)."),
    think_time: Optional[str] = typer.Option(None, "--think-time", help="multi_turn: seconds between turns (a "
                                             "distribution)."),
    conversations: Optional[str] = typer.Option(None, "--conversations", help="multi_turn: ShareGPT .json file."),
    groups: Optional[int] = typer.Option(None, "--groups", help="shared_prefix: number of prefix groups."),
    prefix_tokens: Optional[int] = typer.Option(None, "--prefix-tokens", help="shared_prefix: prefix length."),
    suffix_dist: Optional[str] = typer.Option(None, "--suffix-dist", help="shared_prefix: suffix tokens (a "
                                              "distribution)."),
    trace: Optional[str] = typer.Option(None, "--trace", help="trace: JSONL/CSV file (generic, Azure, Mooncake)."),
    trace_format: Optional[str] = typer.Option(None, "--trace-format", help="auto | generic | azure | mooncake."),
    speed: Optional[str] = typer.Option(None, "--speed", help="trace: time scaling, e.g. 2.0 (or 1,2,4: a sweep)."),
    max_requests: Optional[int] = typer.Option(None, "--max-requests", help="trace: replay the first N rows."),
    max_duration: Optional[float] = typer.Option(None, "--max-duration", help="trace: replay the first S seconds "
                                                 "(after scaling)."),
    scrape_metrics: bool = typer.Option(False, "--scrape-metrics", help="Scrape the server's Prometheus /metrics "
                                        "(vLLM: KV cache, prefix cache, running/waiting) during each point."),
    metrics_url: Optional[str] = typer.Option(None, "--metrics-url", help="The metrics URL (implies "
                                              "--scrape-metrics; default: the target's host:port/metrics)."),
    scrape_interval: float = typer.Option(1.0, "--scrape-interval", help="Seconds between scrapes."),
    scrape_metric: list[str] = typer.Option([], "--scrape-metric", help="Another metric name to keep "
                                            "(repeatable)."),
    export_to: Optional[str] = typer.Option(None, "--to", help="Also log the summary to wandb or mlflow."),
) -> None:
    """Load-test an OpenAI-compatible endpoint with a fleet of Ray workers; writes DIR/perf.json."""
    from evalray.job.loader import build_job
    from evalray.loadgen.runner import run_perf_job

    data: dict[str, Any] = {
        "kind": "perf", "name": name, "seed": seed,
        "target": {"url": url, "model": model, "api": api, "stream": stream, "headers": _headers(header),
                   "api_key_env": api_key_env, "timeout_s": timeout, "ignore_eos": ignore_eos},
        "prompts": {"prompt": prompt, "dataset": dataset, "data_dir": data_dir, "tokenizer": tokenizer,
                    "input_tokens": input_tokens, "input_tokens_range": input_tokens_range,
                    "max_tokens": max_tokens, "max_tokens_range": max_tokens_range},
        "load": _given_only({"concurrency": _numbers(concurrency, int, "--concurrency"),
                             "rate": _numbers(rate, float, "--rate"), "arrival": arrival, "burstiness": burstiness,
                             "num_requests": num_requests, "duration_s": duration, "warmup_requests": warmup,
                             "ramp_up_s": ramp_up, "max_connections": max_connections}),
        "fleet": {"workers": workers, "cpus_per_worker": cpus_per_worker, "local": local,
                  "source_addresses": source_addresses},
        "slo": dict(p.split("=", 1) for p in slo.split(",") if "=" in p) if slo else None,
        "html": html, "progress": progress,
    }
    if slo:
        from evalray.job.perf_spec import parse_slos

        parse_slos(slo)
    flags = {"input_tokens": input_dist, "output_tokens": output_dist, "sessions": sessions, "turns": turns,
             "think_time_s": think_time, "conversations": conversations, "groups": groups,
             "prefix_tokens": prefix_tokens, "suffix_tokens": suffix_dist, "file": trace, "format": trace_format,
             "speed": _numbers(speed, float, "--speed"), "max_requests": max_requests, "max_duration_s": max_duration,
             "limit": limit}
    kind = workload or ("trace" if trace else "synthetic" if input_dist or output_dist else None)
    if kind is None and any(v is not None for v in flags.values()):
        given = ", ".join(_FLAGS[k] for k, v in flags.items() if v is not None)
        raise ConfigError(f"{given}: a workload flag; choose the workload with --workload")
    if kind is not None:
        if kind == "benchmark":
            flags.update(name=dataset, data_dir=data_dir)
        data["workload"] = _workload(kind, flags)
        if kind == "benchmark":
            data["prompts"].update(dataset=None, data_dir=None)
    if scrape_metrics or metrics_url or scrape_metric:
        data["server_metrics"] = {"url": metrics_url, "interval_s": scrape_interval, "metrics": scrape_metric}
    if export_to:
        data["export"] = {"to": export_to}
    if search:
        data["search"] = {"min_rate": search_min, "max_rate": search_max}
    if output:
        data["output"] = output
    spec = build_job(data, "evalray perf")
    out = run_perf_job(spec, address)
    typer.echo(f"wrote {out / 'perf.json'}")
    if json.loads((out / "perf.json").read_text(encoding="utf-8")).get("interrupted"):
        raise PerfInterrupted(f"interrupted: partial results in {out / 'perf.json'}")


def mock_server(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port (0: any free port; the URL is printed)."),
    model: str = typer.Option("mock", help="Model name served by /v1/models."),
    ttft_ms: float = typer.Option(0.0, "--ttft-ms", help="Time to first token (ms)."),
    tpot_ms: float = typer.Option(0.0, "--tpot-ms", help="Time per output token after the first (ms)."),
    output_tokens: Optional[int] = typer.Option(None, "--output-tokens", help="Tokens per answer (default: "
                                                "the request's max_tokens)."),
    tokens_per_chunk: int = typer.Option(1, "--tokens-per-chunk", help="Tokens per streamed chunk."),
    error_rate: float = typer.Option(0.0, "--error-rate", help="Fraction answered with an error status."),
    error_status: str = typer.Option("500", "--error-status", help="Error statuses, e.g. 500,503,429."),
    timeout_rate: float = typer.Option(0.0, "--timeout-rate", help="Fraction never answered."),
    truncate_rate: float = typer.Option(0.0, "--truncate-rate", help="Fraction cut off mid-answer."),
    hang_s: float = typer.Option(30.0, "--hang-s", help="How long an unanswered request is held open (s)."),
    lifetime: Optional[float] = typer.Option(None, "--lifetime", help="Stop after this many seconds."),
    seed: int = typer.Option(0, help="Seed of error injection."),
    processes: int = typer.Option(1, "--processes", help="Serve from this many processes (one shared socket)."),
    record_requests: int = typer.Option(0, "--record-requests", help="Keep the last N request bodies and answers "
                                        "(at most 100000), served at GET /debug/requests."),
    unique_answers: bool = typer.Option(False, "--unique-answers", help="Begin every answer with a<N> (the "
                                        "request count) so that answers differ."),
    answers: Optional[str] = typer.Option(None, "--answers", help="JSONL of {prompt, answer}: the answer to "
                                          "send for a prompt (the last user message)."),
    degrade_above_rate: Optional[float] = typer.Option(None, "--degrade-above-rate", help="While more than this "
                                                       "many requests arrived in the last second, answer wrongly."),
    degraded_answer: str = typer.Option("I do not know.", "--degraded-answer", help="The wrong answer."),
    kv_slots: int = typer.Option(256, "--kv-slots", help="GET /metrics: the fake KV-cache usage is running "
                                 "requests / this."),
) -> None:
    """An OpenAI-compatible test server with injected latency and errors (for tests and dry runs)."""
    from evalray.testing.mockserver import MockServerSpec, run_mock_server

    rates = (error_rate, timeout_rate, truncate_rate)
    if any(r < 0 or r > 1 for r in rates) or sum(rates) > 1:
        raise ConfigError("--error-rate, --timeout-rate and --truncate-rate must be in [0, 1] and sum to at most 1")
    spec = MockServerSpec(host=host, port=port, model=model, ttft_s=ttft_ms / 1000, tpot_s=tpot_ms / 1000,
                          output_tokens=output_tokens, tokens_per_chunk=tokens_per_chunk, error_rate=error_rate,
                          error_statuses=tuple(_numbers(error_status, int, "--error-status") or [500]),
                          timeout_rate=timeout_rate, truncate_rate=truncate_rate, hang_s=hang_s, seed=seed,
                          lifetime_s=lifetime, processes=max(1, processes),
                          record_requests=max(0, min(record_requests, 100_000)), unique_answers=unique_answers,
                          answers_file=answers, degrade_above_rate=degrade_above_rate,
                          degraded_answer=degraded_answer, kv_slots=max(1, kv_slots))
    try:
        run_mock_server(spec, lambda url: typer.echo(f"mock server listening on {url}", err=False))
    except OSError as exc:
        raise ConfigError(f"mock-server: cannot listen on {host}:{port} or read --answers ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(f"mock-server --answers: {exc}") from None
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command("perf")(perf)
    app.command("mock-server")(mock_server)
