"""One OpenCompass task, run inside the OpenCompass environment (:mod:`evalray.pipeline.opencompass_env`).

:func:`run_task` is the body of the Ray task whose worker is the environment's interpreter: it writes an OpenCompass
python config (the dataset config by name, e.g. ``siqa_gen``, through ``read_base``; OpenCompass's ``OpenAI`` API
model pointed at the endpoint; ``reader_cfg.test_range`` for ``limit``), runs OpenCompass's own CLI on it
(``python -m opencompass.cli.main CONFIG -w WORK_DIR --debug``: inference and evaluation in that one process) with
``COMPASS_DATA_CACHE`` set so the bundle's ``data/...`` paths are read locally, and returns what OpenCompass wrote:
its summary CSV (as rows) and its per-dataset results JSON. Standard library only at import (the module is imported
by both environments).
"""

from __future__ import annotations

import csv
import glob
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CONFIG = """\
from mmengine.config import read_base
from opencompass.models import OpenAI

with read_base():
    from {module} import *  # noqa: F401,F403

datasets = [d for _name, _value in list(locals().items()) if _name.endswith('_datasets') for d in _value]
_limit = {limit!r}
if _limit is not None:
    for _d in datasets:
        _d['reader_cfg']['test_range'] = '[0:%d]' % _limit

models = [dict(
    type=OpenAI,
    abbr={abbr!r},
    path={model_id!r},
    key='ENV',
    openai_api_base={url!r},
    tokenizer_path={tokenizer!r},
    meta_template=dict(round=[dict(role='HUMAN', api_role='HUMAN'), dict(role='BOT', api_role='BOT', generate=True)]),
    query_per_second={qps!r},
    max_out_len={max_out_len!r},
    max_seq_len={max_seq_len!r},
    batch_size={batch_size!r},
    temperature={temperature!r},
    retry={retry!r},
)]
"""


def dataset_config_module(name: str) -> str:
    """``siqa_gen`` -> ``opencompass.configs.datasets.siqa.siqa_gen`` (the installed package's config file of that
    name); a ValueError naming the unknown config otherwise."""
    import opencompass.configs.datasets as root

    base = Path(root.__path__[0])
    found = sorted(base.glob(f"**/{name}.py"))
    if not found:
        raise ValueError(f"unknown OpenCompass dataset config '{name}' (no {name}.py under {base})")
    relative = found[0].relative_to(base).with_suffix("")
    return "opencompass.configs.datasets." + ".".join(relative.parts)


def data_cache(data_dir: str, scratch: Path) -> str:
    """COMPASS_DATA_CACHE for a bundle folder: OpenCompass reads ``<cache>/data/<dataset>``, so the bundle's parent
    when the folder is named ``data``, else a scratch folder whose ``data`` links to it."""
    folder = Path(data_dir).resolve()
    if folder.name == "data":
        return str(folder.parent)
    scratch.mkdir(parents=True, exist_ok=True)
    link = scratch / "data"
    if not link.exists():
        link.symlink_to(folder, target_is_directory=True)
    return str(scratch)


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Run one dataset config for one model; returns ``{"summary": [csv rows], "results": {abbr: json without its
    details}, "counts": {abbr: predictions}, "correct": {abbr: per-item verdicts or None}, "work_dir": ...}``, or
    ``{"error": one line}``."""
    work = Path(task["work_dir"])
    work.mkdir(parents=True, exist_ok=True)
    try:
        module = dataset_config_module(task["dataset"])
    except ValueError as exc:
        return {"error": str(exc)}
    config = work / "config.py"
    config.write_text(CONFIG.format(module=module, **task["model"], limit=task.get("limit")), encoding="utf-8")
    env = {**os.environ, "OPENAI_API_KEY": task.get("api_key") or "EMPTY", "TOKENIZERS_PARALLELISM": "false"}
    env.pop("COMPASS_DATA_CACHE", None)
    if task.get("data_dir"):
        env["COMPASS_DATA_CACHE"] = data_cache(task["data_dir"], work / "data_cache")
    log = work / "opencompass.log"
    command = [sys.executable, "-m", "opencompass.cli.main", str(config), "-w", str(work / "outputs"), "--debug"]
    with open(log, "w") as out:
        try:
            proc = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=task.get("timeout_s"), preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            return {"error": f"OpenCompass ran over {task.get('timeout_s')} s on {task['dataset']} (log: {log})"}
    summaries = sorted(glob.glob(str(work / "outputs" / "*" / "summary" / "summary_*.csv")))
    if proc.returncode != 0 or not summaries:
        return {"error": f"OpenCompass failed on {task['dataset']} (exit {proc.returncode}): {last_line(log)} "
                         f"(log: {log})"}
    run_dir = Path(summaries[-1]).parent.parent
    with open(summaries[-1], newline="", encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    abbr = task["model"]["abbr"]
    results, counts, correct = {}, {}, {}
    for path in sorted((run_dir / "results" / abbr).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[path.stem] = {k: v for k, v in data.items() if k != "details"}  # the details stay in the work dir
        correct[path.stem] = item_verdicts(data.get("details"))
    for path in sorted((run_dir / "predictions" / abbr).glob("*.json")):
        counts[path.stem] = len(json.loads(path.read_text(encoding="utf-8")))
    return {"summary": summary, "results": results, "counts": counts, "correct": correct, "work_dir": str(run_dir)}


def item_verdicts(details: Any) -> list[bool] | None:
    """Per-item verdicts from an evaluator's details: its ``correct`` flags where it writes them, else whether the
    postprocessed prediction equals the reference (AccEvaluator's details); None when neither is there. The runner
    uses them only where their mean is OpenCompass's number."""
    items = details.values() if isinstance(details, dict) else details if isinstance(details, list) else []
    items = [item for item in items if isinstance(item, dict)]
    if items and all(isinstance(item.get("correct"), bool) for item in items):
        return [item["correct"] for item in items]
    if items and all(isinstance(item.get("predictions"), str) and isinstance(item.get("references"), str)
                     for item in items):
        return [item["predictions"] == item["references"] for item in items]
    return None


def _die_with_parent() -> None:
    """In the OpenCompass child: get SIGTERM when the Ray worker dies (a cancelled or stopped run), so no orphan keeps
    calling the endpoint. Linux only; elsewhere a no-op."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def last_line(log: Path) -> str:
    """The last error-looking line of an OpenCompass log."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    for line in reversed(lines):
        head = line.split(":")[0]
        if head.endswith(("Error", "Exception")) or "Error:" in line:
            return line[:300]
    return (lines[-1] if lines else "no output")[:300]


if __name__ == "__main__":  # python -m evalray.pipeline.opencompass_task TASK.json: run one task by hand
    print(json.dumps(run_task(json.loads(Path(sys.argv[1]).read_text())), indent=1))
