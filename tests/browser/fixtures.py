"""Small eval runs written by evalray's own writers (result.json through the typed RunResult, per-sample Parquet,
reports), for dashboard tests that need exact, known samples without running a pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Item = dict[str, Any]


def pipeline_row(model: str, benchmark: str, item: Item) -> dict[str, Any]:
    """A scored pipeline row of a generative sample (``item``: id, subset, correct, and optionally prompt, output,
    target, error)."""
    error = item.get("error")
    target = item.get("target", "7")
    output = item.get("output", f"ANSWER: {target if item['correct'] else '0'}")
    return {
        "model": model, "benchmark": benchmark, "id": item["id"], "uid": f"{benchmark}::{item['id']}",
        "subset": item.get("subset"), "mode": "generate", "prompt": item.get("prompt", f"Question {item['id']}?"),
        "output": "" if error else output, "texts": [] if error else [output],
        "extracted": None if error else (target if item["correct"] else "0"), "target": target,
        "scores": None if error else {"exact_match": 1.0 if item["correct"] else 0.0}, "error": error,
        "served_by": "actor-1", "node_id": "node-1",
    }


def write_eval_run(out: Path, name: str, benchmark: str, per_model: dict[str, list[Item]]) -> dict[str, Any]:
    """Write a complete eval run of one benchmark and one or more models; return its result.json dict."""
    from evalray.results import aggregate, writers
    from evalray.results.schema import RunResult

    samples, scores, counts = {}, [], []
    for model, items in per_model.items():
        rows = [pipeline_row(model, benchmark, item) for item in items]
        samples[(model, benchmark)] = rows
        scores += aggregate.score_rows(rows, model, benchmark, {})
        counts.append({**aggregate.count_row(rows, model, benchmark), "expected": len(rows)})
    status = "partial" if any(c["errors"] for c in counts) else "completed"
    job = {"name": name, "kind": "eval", "models": [{"name": m, "backend": "replay"} for m in per_model],
           "benchmarks": [{"name": benchmark}], "output": str(out)}
    result = RunResult(run_id=f"{name}-test", name=name, status=status, started_at="2026-01-02T03:04:05+00:00",
                       finished_at="2026-01-02T03:04:35+00:00", job=job,
                       env={"evalray": "test", "ray": "test", "python": "3"}, scores=scores, counts=counts)
    writers.write_run(str(out), result, samples)
    return result.as_dict()
