"""``backend: replay``: re-score recorded outputs without a model.

``source`` is a JSONL file of ``{"id": ..., "output": ...}`` lines (``"benchmark"`` optional, needed only when two
benchmarks of the job share an id; ``"output"`` may be a list for ``repeats``), or a directory of
``<benchmark>.jsonl`` files. For a multi-turn benchmark (MT-Bench) ``"output"`` lists the answers turn by turn
(``["turn 1 answer", "turn 2 answer"]``) and turn ``t`` is answered with its element. ``"id"`` is the sample id (:class:`evalray.types.Sample`): the dataset's own id verbatim
where it has one (MATH-500 ``unique_id``, HumanEval ``task_id``, IFEval ``key``, ARC ``id``...), else the row id
(``"abstract_algebra/3"``). A sample with no recorded output gets an error row, not a crash; two different outputs
for one (benchmark, id) are an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from evalray.errors import BackendError
from evalray.job.spec import ModelSpec
from evalray.models.base import Backend
from evalray.types import Generation, Request


def read_replay(source: str) -> tuple[dict[tuple[str, str], list[str]], dict[str, list[str]]]:
    """(benchmark, id) -> outputs, and id -> outputs for lines without a benchmark."""
    path = Path(source).expanduser()
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not path.exists():
        raise BackendError(f"replay source {source} does not exist")
    by_benchmark: dict[tuple[str, str], list[str]] = {}
    by_id: dict[str, list[str]] = {}
    for file in files:
        default_benchmark = file.stem if path.is_dir() else None
        with open(file, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    key, output = str(record["id"]), record["output"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise BackendError(f"{file}:{number}: not a replay line with 'id' and 'output' ({exc})") from None
                outputs = [str(o) for o in output] if isinstance(output, list) else [str(output)]
                benchmark = record.get("benchmark", default_benchmark)
                table, where = (by_benchmark, (str(benchmark), key)) if benchmark else (by_id, key)
                if table.setdefault(where, outputs) != outputs:  # type: ignore[arg-type]
                    raise BackendError(f"{file}:{number}: a second, different output for id {key}"
                                       + (f" of {benchmark}" if benchmark else ""))
    return by_benchmark, by_id


class ReplayBackend(Backend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.by_benchmark, self.by_id = read_replay(spec.source)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        results = []
        for request in requests:
            benchmark, _, sample_id = request.uid.partition("::")
            outputs = self.by_benchmark.get((benchmark, sample_id))
            if outputs is None:
                outputs = self.by_id.get(sample_id)
            if outputs is None:
                results.append(Generation(error=f"replay: no output for {benchmark} id {sample_id}"))
            elif request.turn:  # a later turn of a multi-turn benchmark: that turn's recorded answer
                results.append(Generation(texts=[outputs[request.turn]] * request.repeats)
                               if request.turn < len(outputs) else
                               Generation(error=f"replay: no turn {request.turn + 1} output for {benchmark} id "
                                                f"{sample_id}"))
            else:
                results.append(Generation(texts=(outputs * request.repeats)[: max(request.repeats, len(outputs))]))
        return results


BACKEND = ReplayBackend


def preflight(spec: ModelSpec) -> None:
    """The recorded outputs must be readable before Ray starts."""
    read_replay(spec.source)
