"""What a perf job produced, handed from the runner to the writers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass
class PerfResult:
    """Everything a perf job produced (the content of perf.json plus the raw tables)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    search: dict[str, Any] | None = None
    interrupted: bool = False
