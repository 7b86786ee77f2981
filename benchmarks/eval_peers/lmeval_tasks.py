"""lm-evaluation-harness task YAMLs (for ``--include_path``) that read the local copies of MMLU and GSM8K.

They mirror lm-eval's own ``mmlu_generative`` (57 per-subject ``generate_until`` tasks in a group, the same
description, prompt, target, stop strings, filters and metric) and ``gsm8k`` (the same prompt, stops, filters and
metric), with ``dataset_path: csv`` / ``json`` and ``data_files`` pointing at the local files instead of the hub.
Zero-shot, like evalray's defaults; ``max_gen_toks`` is set to the benchmark's answer budget.
"""

from __future__ import annotations

import json
from pathlib import Path

MMLU_TASK_PREFIX = "evr_mmlu_"
MMLU_GROUP = "evr_mmlu_generative"
GSM8K_TASK = "evr_gsm8k"


def _q(value: str) -> str:
    """A YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(value)


def mmlu_subjects(mmlu_test_dir: Path) -> list[str]:
    return sorted(p.name[: -len("_test.csv")] for p in mmlu_test_dir.glob("*_test.csv"))


def write_tasks(out_dir: Path, mmlu_test_dir: Path, gsm8k_file: Path, max_tokens: int) -> dict[str, str]:
    """Write the task files; return ``{"mmlu": group name, "gsm8k": task name}``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    subjects = mmlu_subjects(mmlu_test_dir)
    template = f"""dataset_path: csv
test_split: test
output_type: generate_until
doc_to_text: "{{{{question.strip()}}}}\\nA. {{{{choice0}}}}\\nB. {{{{choice1}}}}\\nC. {{{{choice2}}}}\\nD. {{{{choice3}}}}\\nAnswer:"
doc_to_target: "{{{{['A', 'B', 'C', 'D'][answer]}}}}"
num_fewshot: 0
generation_kwargs:
  until:
    - "</s>"
    - "\\n"
  max_gen_toks: {max_tokens}
  do_sample: false
  temperature: 0.0
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_punctuation: true
    ignore_case: true
filter_list:
  - name: get_response
    filter:
      - function: "regex"
        regex_pattern: "^(.*?)(?=\\\\n|$)"
      - function: remove_whitespace
      - function: "regex"
        regex_pattern: "^(.*?)\\\\s*$"
      - function: take_first
metadata:
  version: 3.0
"""
    (out_dir / "_evr_mmlu_template_yaml").write_text(template)
    for subject in subjects:
        text = (
            f"include: _evr_mmlu_template_yaml\n"
            f"task: {MMLU_TASK_PREFIX}{subject}\n"
            f"task_alias: {subject}\n"
            f"description: {_q('The following are multiple choice questions (with answers) about ' + subject.replace('_', ' ') + '.' + chr(10) + chr(10))}\n"
            f"dataset_kwargs:\n  data_files:\n    test: {_q(str(mmlu_test_dir / f'{subject}_test.csv'))}\n"
        )
        (out_dir / f"{MMLU_TASK_PREFIX}{subject}.yaml").write_text(text)
    group = f"group: {MMLU_GROUP}\ntask:\n" + "".join(f"  - {MMLU_TASK_PREFIX}{s}\n" for s in subjects)
    group += ("aggregate_metric_list:\n  - aggregation: mean\n    metric: exact_match\n    weight_by_size: true\n"
              "    filter_list: get_response\nmetadata:\n  version: 3\n")
    (out_dir / f"{MMLU_GROUP}.yaml").write_text(group)
    gsm8k = f"""task: {GSM8K_TASK}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {_q(str(gsm8k_file))}
output_type: generate_until
test_split: test
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
num_fewshot: 0
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: false
    regexes_to_ignore:
      - ","
      - "\\\\$"
      - "(?s).*#### "
      - "\\\\.$"
generation_kwargs:
  until:
    - "Question:"
    - "</s>"
    - "<|im_end|>"
  max_gen_toks: {max_tokens}
  do_sample: false
  temperature: 0.0
repeats: 1
filter_list:
  - name: "strict-match"
    filter:
      - function: "regex"
        regex_pattern: "#### (\\\\-?[0-9\\\\.\\\\,]+)"
      - function: "take_first"
  - name: "flexible-extract"
    filter:
      - function: "regex"
        group_select: -1
        regex_pattern: "(-?[$0-9.,]{{2,}})|(-?[0-9]+)"
      - function: "take_first"
metadata:
  version: 3.0
"""
    (out_dir / f"{GSM8K_TASK}.yaml").write_text(gsm8k)
    return {"mmlu": MMLU_GROUP, "gsm8k": GSM8K_TASK}
