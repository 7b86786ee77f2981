"""Small file readers shared by the benchmark modules (not a benchmark: the registry skips ``_`` modules)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any


def find(data_dir: Path, *candidates: str) -> Path:
    """The first existing ``data_dir/candidate`` (benchmark folders nest their files differently)."""
    for candidate in candidates:
        path = data_dir / candidate
        if path.exists():
            return path
    raise FileNotFoundError(2, "no such file", str(data_dir / candidates[0]))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8-sig") as f:
        return json.load(f)


def read_csv_dicts(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))
