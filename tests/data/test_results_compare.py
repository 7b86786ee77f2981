"""``evalray compare`` and ``evalray report`` on two real replay runs of the 1,319 GSM8K test items with known
differences: the difference, its 95% interval and McNemar's p-value equal a direct computation (scipy's binomial
test), the flipped ids are exactly the constructed ones, and regenerated reports are byte-identical.

Runs go through the real pipeline (planner, Ray Data stages, scorer, writers) on the session's local Ray."""

from __future__ import annotations

import json
import math
import re
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli, shared_data

from evalray.results.compare import mcnemar, paired_difference

MISSING_IN_B = "42"  # no recorded output for B: an error row, left out of the paired items


def wrong_a(i: int) -> bool:
    return i % 7 == 0 or i % 11 == 3


def wrong_b(i: int) -> bool:
    return i % 5 == 1 or i % 13 == 0


def _write_replay(path: Path, samples, wrong, skip: str | None = None) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i, sample in enumerate(samples):
            if sample.id == skip:
                continue
            answer = f"{sample.target}1" if wrong(i) else sample.target  # an extra digit: a different number
            f.write(json.dumps({"id": sample.id, "output": f"Step by step.\nANSWER: {answer}"}) + "\n")


@pytest.fixture(scope="module")
def gsm8k_runs(tmp_path_factory, ray_session):
    from evalray.benchmarks import registry
    from evalray.job.loader import build_job
    from evalray.job.spec import BenchmarkSpec
    from evalray.pipeline.runner import run_job

    data = shared_data("gsm8k")
    samples = registry.get("gsm8k").load(BenchmarkSpec(name="gsm8k", data_dir=str(data)))
    assert len(samples) == 1319
    root = tmp_path_factory.mktemp("compare")
    runs = {}
    for name, wrong, skip in (("run-a", wrong_a, None), ("run-b", wrong_b, MISSING_IN_B)):
        replay = root / f"{name}.jsonl"
        _write_replay(replay, samples, wrong, skip)
        job = build_job({"name": name, "output": str(root / name),
                         "models": [{"name": "model", "backend": "replay", "source": str(replay),
                                     "resources": {"num_cpus": 0.25}}],
                         "benchmarks": [{"name": "gsm8k", "data_dir": str(data)}]})
        run_job(job, progress=False)
        runs[name] = root / name
    return runs, samples


def _direct(samples) -> dict:
    """The expected figures, computed from the construction (not from evalray's output)."""
    keep = [i for i, s in enumerate(samples) if s.id != MISSING_IN_B]
    a = np.array([0.0 if wrong_a(i) else 1.0 for i in keep])
    b = np.array([0.0 if wrong_b(i) else 1.0 for i in keep])
    d = b - a
    half = 1.959963984540054 * d.std(ddof=1) / math.sqrt(d.size)
    right_to_wrong = [samples[i].id for i in keep if not wrong_a(i) and wrong_b(i)]
    wrong_to_right = [samples[i].id for i in keep if wrong_a(i) and not wrong_b(i)]
    return {"n": d.size, "mean_a": a.mean(), "mean_b": b.mean(), "diff": d.mean(), "ci": (d.mean() - half, d.mean() + half),
            "b": len(right_to_wrong), "c": len(wrong_to_right), "p": _binomial_p(len(right_to_wrong), len(wrong_to_right)),
            "right_to_wrong": right_to_wrong, "wrong_to_right": wrong_to_right}


def _binomial_p(b: int, c: int) -> float:
    """Two-sided exact binomial test of b successes in b + c trials at 1/2: scipy's when installed, else the sum of
    the probabilities of outcomes no more likely than the observed one (exact fractions)."""
    try:
        from scipy.stats import binomtest

        return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)
    except ImportError:
        n = b + c
        pmf = [Fraction(math.comb(n, k), 2**n) for k in range(n + 1)]
        return float(min(Fraction(1), sum(p for p in pmf if p <= pmf[b])))


def _overall_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if line.startswith("gsm8k  subset=(all)  metric=exact_match")]
    assert len(lines) == 1, stdout
    return lines[0]


def _number(line: str, key: str) -> float:
    match = re.search(rf"(?:^|[\s/]){re.escape(key)}=(-?[0-9.e+-]+)", line)
    assert match, (key, line)
    return float(match.group(1))


def _ids(stdout: str, kind: str) -> list[str]:
    match = re.search(rf"^gsm8k  {re.escape(kind)} \((\d+)\): (.*)$", stdout, re.M)
    assert match, stdout
    ids = [] if match.group(2) == "-" else match.group(2).split(", ")
    assert len(ids) == int(match.group(1))
    return ids


def test_compare_prints_difference_interval_mcnemar_and_flips(gsm8k_runs):
    runs, samples = gsm8k_runs
    expected = _direct(samples)
    assert 50 < expected["b"] and 50 < expected["c"] and expected["p"] < 0.05  # a real, significant difference
    done = run_cli("compare", str(runs["run-a"]), str(runs["run-b"]))
    assert done.returncode == 0, done.stderr
    line = _overall_line(done.stdout)
    assert f"n={expected['n']}" in line  # the errored sample of B is not paired
    assert _number(line, "diff") == pytest.approx(expected["diff"], abs=1e-6)
    low, high = re.search(r"\bci=\[(-?[0-9.]+), (-?[0-9.]+)\]", line).groups()
    assert (float(low), float(high)) == pytest.approx(expected["ci"], abs=1e-6)
    assert _number(line, "b") == expected["b"] and _number(line, "c") == expected["c"]
    assert _number(line, "mcnemar_p") == pytest.approx(expected["p"], rel=1e-5)
    assert _ids(done.stdout, "right->wrong") == expected["right_to_wrong"]
    assert _ids(done.stdout, "wrong->right") == expected["wrong_to_right"]
    # the means are the runs' own result.json scores over the paired items
    result_a = json.loads((runs["run-a"] / "result.json").read_text())
    overall_a = next(r for r in result_a["scores"] if r["metric"] == "exact_match" and r["subset"] is None)
    assert overall_a["n"] == 1319
    assert _number(line, "run-a") == pytest.approx(expected["mean_a"], abs=1e-6)
    assert _number(line, "run-b") == pytest.approx(expected["mean_b"], abs=1e-6)


def test_compare_writes_html_with_the_flipped_items(gsm8k_runs, tmp_path):
    runs, samples = gsm8k_runs
    expected = _direct(samples)
    out = tmp_path / "cmp.html"
    done = run_cli("compare", str(runs["run-a"]), str(runs["run-b"]), "-o", str(out), "--max-ids", "3")
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert f'data-count="{expected["b"]}"' in page and f'data-count="{expected["c"]}"' in page
    first = samples[int(expected["right_to_wrong"][0])]
    assert f'<td class="flip-id">{first.id}</td>' in page
    assert not re.findall(r"<script[^>]*\ssrc=", page) and 'id="compare-chart"' in page  # plotly inlined: offline


def test_report_rewrites_byte_identical_reports(gsm8k_runs, tmp_path):
    runs, _ = gsm8k_runs
    run = tmp_path / "copy"
    shutil.copytree(runs["run-a"], run)
    before = {name: (run / name).read_bytes() for name in ("report.html", "report.md")}
    done = run_cli("report", str(run))
    assert done.returncode == 0, done.stderr
    assert {name: (run / name).read_bytes() for name in before} == before
    assert b"Plotly.newPlot" in before["report.html"] and b'id="scores-chart"' in before["report.html"]


def test_report_on_two_runs_writes_a_comparison(gsm8k_runs, tmp_path):
    runs, samples = gsm8k_runs
    expected = _direct(samples)
    out = tmp_path / "reports"
    done = run_cli("report", str(runs["run-a"]), str(runs["run-b"]), "-o", str(out))
    assert done.returncode == 0, done.stderr
    markdown = (out / "comparison.md").read_text(encoding="utf-8")
    assert f"{expected['diff']:.4f}" in markdown
    assert f"right → wrong ({expected['b']}): " + ", ".join(expected["right_to_wrong"]) in markdown
    assert (out / "comparison.html").is_file()
    assert (out / "01-run-a" / "report.html").is_file() and (out / "02-run-b" / "report.md").is_file()


@pytest.mark.parametrize("b,c", [(0, 0), (0, 7), (3, 10), (40, 55), (60, 60), (700, 760), (1, 4000)])
def test_mcnemar_matches_the_binomial_test(b, c):
    result = mcnemar(b, c)
    assert result.p_exact == pytest.approx(_binomial_p(b, c) if b + c else 1.0, rel=1e-9)
    if b + c:
        n, k = b + c, min(b, c)
        mid = 2 * sum(Fraction(math.comb(n, i), 2**n) for i in range(k)) + Fraction(math.comb(n, k), 2**n)
        assert result.p_mid == pytest.approx(float(min(Fraction(1), mid)), rel=1e-9)


def test_paired_difference_matches_a_direct_computation():
    rng = np.random.default_rng(3)
    a = rng.random(500)
    b = a + rng.normal(0.02, 0.1, 500)
    result = paired_difference(a, b)
    d = b - a
    assert result.diff == pytest.approx(d.mean())
    assert result.stderr == pytest.approx(d.std(ddof=1) / math.sqrt(d.size))
    assert result.boot_low < result.diff < result.boot_high
    assert result.mcnemar is None  # not binary
