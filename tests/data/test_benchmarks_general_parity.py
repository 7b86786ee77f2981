"""general_mcq on the real MMLU test split written out as one CSV (question, A-D, answer letter, subject column):
the same log-likelihood requests as the built-in mmlu, item by item (but for mmlu's per-subject preamble, which a
single system prompt cannot be), and gold letters score exactly 1.0 on all 14,042 questions."""

from __future__ import annotations

import csv

from evalray.benchmarks import registry
from evalray.job.spec import BenchmarkSpec
from evalray.types import Generation
from tests.conftest import shared_data


def test_general_mcq_matches_the_builtin_mmlu_on_real_data(tmp_path):
    data = shared_data("mmlu")
    spec = BenchmarkSpec(name="mmlu", data_dir=str(data))
    builtin = {s.id: (s, r) for s, r, _ in registry.get("mmlu").requests(spec, chat=False, seed=0)}
    path = tmp_path / "mmlu.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "A", "B", "C", "D", "answer", "subject"])
        for sample, _ in builtin.values():
            writer.writerow([sample.input, *sample.choices, "ABCD"[int(sample.target)], sample.subset])
    entry = BenchmarkSpec(name="mine", type="general_mcq", path=str(path), columns={"subset": "subject"})
    mine = registry.for_entry(entry)
    items = list(mine.requests(entry, chat=False, seed=0))
    assert len(items) == len(builtin) == 14042
    for sample, request, mode in items:
        reference, expected = builtin[sample.id]  # the same row ids: <subject>/<row in subject>
        preamble = f"The following are multiple choice questions (with answers) about {sample.subset.replace('_', ' ')}.\n\n"
        assert expected.prompt == preamble + request.prompt, sample.id
        assert expected.continuations == request.continuations and sample.target == reference.target
        gold = [0.0 if i == int(sample.target) else -1.0 for i in range(len(sample.choices))]
        assert mine.score(sample, Generation(loglikelihoods=gold), mode).values == {"acc": 1.0}
