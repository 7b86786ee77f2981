"""The README's quickstart through the real CLI: a normal run prints the table and no Ray warnings or error lines."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.timeout(600)
# what Ray prints when it is not kept quiet: Python log records at WARNING/ERROR, C++ log lines ("[... E ...]"),
# the token-auth banner, usage-stats notices
NOISE = re.compile(r"\bWARNING\b|\bERROR\b|^\[\d{4}-\d\d-\d\d [^\]]* [EW] \d+|core_worker\.cc|Token authentication"
                   r"|usage stats", re.MULTILINE)


def test_quickstart_prints_no_ray_warnings_or_errors(tmp_path):
    done = run_cli("run", "configs/quickstart.yaml", "-S", f"output={tmp_path / 'qs'}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "evalray · quickstart · completed" in done.stdout
    result = json.loads((tmp_path / "qs" / "result.json").read_text())
    assert result["status"] == "completed"
    noise = NOISE.findall(done.stderr + done.stdout)
    assert not noise, f"Ray noise in a normal run: {noise[:5]}\n{done.stderr[-3000:]}"
