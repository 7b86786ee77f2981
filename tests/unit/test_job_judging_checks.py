"""Judges in the job file: every problem is one line naming its key path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from evalray.job.loader import format_validation_error
from evalray.job.spec import JobSpec

BASE = {"name": "t", "models": [{"name": "a", "backend": "replay", "source": "x"},
                                {"name": "b", "backend": "replay", "source": "x"}],
        "judges": [{"name": "gpt", "backend": "openai", "source": "http://127.0.0.1:9/v1", "replicas": 2,
                    "concurrency": 8}]}


@pytest.mark.parametrize("overrides, message", [
    ({"benchmarks": [{"name": "mt_bench", "judges": ["gtp"]}]},
     "benchmarks.0.judges: unknown judge 'gtp' (did you mean 'gpt'?); the job's judges are: gpt"),
    ({"benchmarks": [{"name": "arena_hard", "arena": {"baseline": "c"}}]},
     "benchmarks.0.arena.baseline: unknown model 'c'"),
    ({"judges": [], "benchmarks": [{"name": "gsm8k"}, {"name": "alpaca_eval"}]},
     "benchmarks.1.name: benchmark alpaca_eval needs a judge"),
    ({"benchmarks": [{"name": "gsm8k", "arena": {"mode": "single"}}]}, "benchmarks.0.arena: benchmark gsm8k is not"),
    ({"benchmarks": [{"name": "mt_bench", "arena": {"mode": "tournament"}}]}, "benchmarks.0.arena.mode: Input should"),
    ({"judges": BASE["judges"] * 2, "benchmarks": [{"name": "mt_bench"}]}, "(top level): judges: 'gpt' appears twice"),
])
def test_one_line_errors_name_the_key(overrides, message):
    with pytest.raises(ValidationError) as info:
        JobSpec.model_validate({**BASE, **overrides})
    text = format_validation_error(info.value, JobSpec)
    assert text.startswith(message) and "\n" not in text


def test_judges_are_models_of_any_backend():
    job = JobSpec.model_validate({**BASE, "benchmarks": [{"name": "mt_bench", "arena": {"repeats": 2}}]})
    assert job.judges[0].replicas == 2 and job.judges[0].concurrency == 8
    assert job.benchmarks[0].arena.bootstrap == 1000 and job.benchmarks[0].arena.aggregate == "mean"
