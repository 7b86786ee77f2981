"""The nastiest mutated job files (tests/unit/test_job_fuzz.py) through ``evalray validate`` in a subprocess: refused
in one line, quickly."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import pytest

from tests.unit.test_job_fuzz import alias_bomb, bad_name, base_jobs, check_refused, deep_nesting, huge_document, not_utf8


@pytest.mark.parametrize("mutate", [alias_bomb, deep_nesting, not_utf8, bad_name, huge_document])
def test_the_worst_files_through_a_subprocess(mutate, tmp_path):
    job = dict(base_jobs())["quickstart.yaml"]
    path = tmp_path / "job.yaml"
    path.write_bytes(mutate(job, random.Random(1)))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evalray.cli.main", "validate", str(path)], capture_output=True,
                          text=True, timeout=60)
    check_refused(path, done.returncode, done.stderr, 0.0, mutate.__name__)
    assert time.monotonic() - started < 30
