"""What a benchmark declares about its data, and the readers that fetch it as raw records.

A :class:`Source` names the hub dataset (path, config), the scored :class:`Split` and the few-shot one, the fixed
subsets and the dataset's own id field. A :class:`Split` names its hub split and the candidate paths of its local
file under a ``data_dir``. Reading yields *groups*: ``(subset, records)`` pairs, one per file or hub config (subset
``None`` when one file holds every subset); :class:`evalray.benchmarks.base.Benchmark` turns the records into samples.

Local path patterns: the first candidate that exists wins. ``{subset}`` in a pattern means one file per subset:
formatted with each declared subset, or, for a benchmark without a fixed subset list (MMLU), globbed with the subset
read from the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from evalray.benchmarks._io import find

Record = dict[str, Any]
Group = tuple[str | None, list[Record]]
SUBSET = "{subset}"


@dataclass(frozen=True)
class Split:
    """One split of a benchmark's data.

    ``hub``: the split's name on the hub. ``files``: candidate paths of its local file under a data_dir (empty: the
    split has no local copy). ``ids``: keep only the records with these dataset ids, in this order (MBPP's test ids
    and its fixed prompt examples)."""

    hub: str
    files: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """Where a benchmark's data comes from.

    ``hub``/``config``: ``load_dataset(hub, config, split=...)``; a config of ``"{subset}"`` loads one config per
    declared subset. ``split``: the scored split; ``fewshot``: where few-shot examples come from (``None``: none).
    ``subsets``: the fixed subset names (BBH tasks, exam subjects). ``id_field``: the record field that is the
    dataset's own id (see :class:`evalray.types.Sample` for the id rule)."""

    hub: str
    config: str | None = None
    split: Split = Split("test")
    fewshot: Split | None = None
    subsets: tuple[str, ...] = ()
    id_field: str | None = None

    def describe(self) -> str:
        config = f" ({self.config})" if self.config and SUBSET not in self.config else ""
        return f"{self.hub}{config} [{self.split.hub}]"


def hub_rows(path: str, config: str | None, split: str) -> list[Record]:
    """Rows of a hub dataset split (needs network or a populated HF cache)."""
    from datasets import load_dataset

    dataset = load_dataset(path, config, split=split)
    return [dict(row) for row in dataset]


def hub_groups(source: Source, split: Split, subsets: Iterable[str]) -> list[Group]:
    """The split from the hub: one group per subset config, or one group for the whole split."""
    if source.config and SUBSET in source.config:
        return [(s, hub_rows(source.hub, source.config.replace(SUBSET, s), split.hub)) for s in subsets]
    return [(None, hub_rows(source.hub, source.config, split.hub))]


def local_files(data_dir: Path, split: Split, subsets: Iterable[str]) -> list[tuple[str | None, Path]]:
    """(subset, path) of the split's local files; a missing file raises FileNotFoundError."""
    if not split.files:
        return []
    if SUBSET not in split.files[0]:
        return [(None, find(data_dir, *split.files))]
    subsets = list(subsets)
    if subsets:
        return [(s, find(data_dir, *(c.replace(SUBSET, s) for c in split.files))) for s in subsets]
    return _globbed(data_dir, split.files)


def _globbed(data_dir: Path, patterns: tuple[str, ...]) -> list[tuple[str | None, Path]]:
    """The files of the first pattern that matches any, subset = the part of the name that ``{subset}`` stands for."""
    for pattern in patterns:
        head, tail = pattern.split(SUBSET, 1)
        name = re.compile(re.escape(head) + "(.+)" + re.escape(tail) + "$")
        found = sorted(data_dir.glob(pattern.replace(SUBSET, "*")))
        if found:
            return [(name.match(p.relative_to(data_dir).as_posix()).group(1), p) for p in found]  # type: ignore[union-attr]
    raise FileNotFoundError(2, "no such files", str(data_dir / patterns[0].replace(SUBSET, "*")))


def local_groups(data_dir: Path, split: Split, subsets: Iterable[str], read: Callable[[Path], list[Record]]) -> list[Group]:
    return [(subset, read(path)) for subset, path in local_files(data_dir, split, subsets)]


def select_ids(records: list[Record], id_field: str | None, ids: tuple[str, ...]) -> list[Record]:
    """The records whose id is one of ``ids``, in that order (all records when ``ids`` is empty)."""
    if not ids or not id_field:
        return records
    by_id = {str(r.get(id_field)): r for r in records}
    return [by_id[i] for i in ids if i in by_id]


def own_ids(records: list[Record], id_field: str | None) -> list[str] | None:
    """The dataset's own ids of the records, verbatim, or None when there is no id field or it is missing, empty or
    not unique somewhere (then the row-index rule applies)."""
    if not id_field:
        return None
    values = [r.get(id_field) for r in records]
    if any(v is None or v == "" for v in values):
        return None
    ids = [str(v) for v in values]
    return ids if len(set(ids)) == len(ids) else None
