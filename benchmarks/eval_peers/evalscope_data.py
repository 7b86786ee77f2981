"""Local mirrors of MMLU and GSM8K in the layout of their hub datasets, for EvalScope's own ``mmlu`` and ``gsm8k``
benchmarks (``dataset_args: {<name>: {local_path: DIR}}``).

EvalScope hands a local directory to ``datasets.load_dataset(DIR, name=<subset>, split=<split>)``, so each mirror is a
folder with a README.md whose YAML header declares the configs the adapters ask for: ``all``/``test`` for MMLU (rows
``question, subject, choices, answer`` like ``cais/mmlu``; the adapter splits them by subject) and ``main``/``test``
for GSM8K (``question, answer`` like ``openai/gsm8k``). Building them is data preparation, done before any timing.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path


def _readme(config: str, relpath: str) -> str:
    return f"---\nconfigs:\n- config_name: {config}\n  data_files:\n  - split: test\n    path: {relpath}\n---\n"


def build_mmlu(out_dir: Path, mmlu_test_dir: Path) -> Path:
    target = out_dir / "mmlu"
    (target / "all").mkdir(parents=True, exist_ok=True)
    with open(target / "all" / "test.jsonl", "w", encoding="utf-8") as out:
        for path in sorted(mmlu_test_dir.glob("*_test.csv")):
            subject = path.name[: -len("_test.csv")]
            with open(path, newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    record = {"question": row["question"], "subject": subject,
                              "choices": [row[f"choice{i}"] for i in range(4)], "answer": int(row["answer"])}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    (target / "README.md").write_text(_readme("all", "all/test.jsonl"))
    return target


def build_gsm8k(out_dir: Path, gsm8k_file: Path) -> Path:
    target = out_dir / "gsm8k"
    (target / "main").mkdir(parents=True, exist_ok=True)
    link = target / "main" / "test.jsonl"
    if not link.exists():
        os.symlink(gsm8k_file.resolve(), link)
    (target / "README.md").write_text(_readme("main", "main/test.jsonl"))
    return target
