"""Compare 2–4 selections (models of eval runs): every other selection against the first, on the benchmarks they
share, from their per-sample Parquet files (statistics in :mod:`evalray.results.compare`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from evalray.dashboard.runs import Selection, sample_file
from evalray.dashboard.samples import SampleCache, SampleFile
from evalray.errors import EvalrayError
from evalray.results.compare import BenchmarkComparison, compare_items, score_frame

MAX_SELECTIONS = 4
_CACHE = SampleCache()


@dataclass
class PairComparison:
    """``other`` against ``base`` (the first selection), one entry per shared benchmark."""

    base: int
    other: int
    benchmarks: list[BenchmarkComparison] = field(default_factory=list)


@dataclass
class Comparison:
    selections: list[Selection]
    benchmarks: list[str]
    pairs: list[PairComparison]
    files: dict[tuple[int, str], SampleFile] = field(default_factory=dict)

    def headline(self, index: int, benchmark: str, metric: str | None) -> dict[str, Any] | None:
        """The overall result.json row of a selection for (benchmark, metric)."""
        selection = self.selections[index]
        for row in selection.result.get("scores", []):
            if (row["model"], row["benchmark"], row["metric"], row.get("subset")) == (selection.model, benchmark, metric, None) \
                    and row.get("level", "overall") == "overall":
                return row
        return None


def _benchmarks(selection: Selection) -> list[str]:
    return [c["benchmark"] for c in selection.result.get("counts", []) if c["model"] == selection.model]


def _frame(data: SampleFile):
    table = data.table
    column = lambda name: table[name].to_pylist() if name in table.column_names else [None] * table.num_rows  # noqa: E731
    return score_frame([str(i) for i in column("id")], column("subset"), column("scores"), column("error"))


def build_comparison(chosen: list[Selection], subsets: bool = True, cache: SampleCache | None = None) -> Comparison:
    """Every selection after the first against the first, on the benchmarks all of them have samples for."""
    if not 2 <= len(chosen) <= MAX_SELECTIONS:
        raise EvalrayError(f"compare needs 2 to {MAX_SELECTIONS} models or runs, got {len(chosen)}")
    cache = cache or _CACHE
    shared = [b for b in _benchmarks(chosen[0]) if all(b in _benchmarks(s) for s in chosen[1:])]
    if not shared:
        raise EvalrayError("the selected runs have no benchmark in common")
    comparison = Comparison(chosen, [], [PairComparison(0, i) for i in range(1, len(chosen))])
    frames = {}
    for benchmark in shared:
        paths = [sample_file(s.run_dir, s.result, s.model, benchmark) for s in chosen]
        if any(p is None for p in paths):
            continue
        comparison.benchmarks.append(benchmark)
        for index, path in enumerate(paths):
            comparison.files[(index, benchmark)] = cache.get(path, benchmark)  # type: ignore[arg-type]
            frames[(index, benchmark)] = _frame(comparison.files[(index, benchmark)])
    if not comparison.benchmarks:
        raise EvalrayError("no per-sample files to compare (samples/<model>/<benchmark>.parquet)")
    for pair in comparison.pairs:
        for benchmark in comparison.benchmarks:
            primary = comparison.files[(0, benchmark)].primary
            pair.benchmarks.append(compare_items(benchmark, frames[(0, benchmark)], frames[(pair.other, benchmark)],
                                                 primary, subsets))
    return comparison


def _rows_by_id(data: SampleFile, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    table = data.table
    picked = table.filter(pc.is_in(table["id"], value_set=pa.array(ids, pa.string())))
    return {str(row["id"]): row for row in picked.to_pylist()}


def _prompt(row: dict[str, Any]) -> str:
    if row.get("prompt"):
        return row["prompt"]
    return row.get("messages") or ""


def flip_details(comparison: Comparison, pair: PairComparison, result: BenchmarkComparison, kind: str,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Prompt, target and both outputs of the flipped items (``kind``: right_to_wrong or wrong_to_right)."""
    ids = getattr(result, kind)[:limit] if limit is not None else getattr(result, kind)
    base = _rows_by_id(comparison.files[(pair.base, result.benchmark)], ids)
    other = _rows_by_id(comparison.files[(pair.other, result.benchmark)], ids)
    details = []
    for sample_id in ids:
        a, b = base.get(sample_id, {}), other.get(sample_id, {})
        details.append({"id": sample_id, "prompt": _prompt(a or b), "target": a.get("target") or b.get("target"),
                        "output_a": a.get("output") or "", "output_b": b.get("output") or "",
                        "extracted_a": a.get("extracted"), "extracted_b": b.get("extracted")})
    return details
