"""RAG metrics on the amnesty_qa sample (10 rows) with a scripted judge and a scripted embedder on 127.0.0.1: every
metric equals a hand computation of its documented formula (RAGAS 0.4), and a failed or unreadable judge call is
excluded from that metric's n and counted, never scored."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from evalray.job.loader import build_job
from evalray.pipeline.embedding_runner import run_embed_job
from evalray.testing.fake_embeddings import FakeEmbeddings, text_vector
from evalray.testing.scripted_chat import ScriptedChat
from tests.conftest import shared_data

pytestmark = pytest.mark.timeout(600)
FAILS_STATEMENTS = 4  # the judge's statements call errors (HTTP 500) for this sample
UNREADABLE_RECALL = 5  # the judge answers context recall with prose for this sample
NONCOMMITTAL = 1


def rows():
    with open(shared_data("rag") / "amnesty_qa_10" / "amnesty_qa.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def n_statements(i):
    return i % 3 + 2


def supported(i, j):
    return 1 if j % 2 == 0 else 0


def useful(i, k):
    return 1 if (i + k) % 2 == 1 else 0


def attributed(i):
    return [1] * (i % 2 + 1) + [0]


def generated(i, question):
    return " ".join(question.split()[: 3 + i % 4])


def script(data):
    questions = [r["question"] for r in data]
    answers = [r["answer"] for r in data]

    def which(prompt, texts):
        return next(i for i, t in enumerate(texts) if t in prompt)

    def reply(prompt):
        if prompt.startswith("[rag:statements]"):
            i = which(prompt, questions)
            if i == FAILS_STATEMENTS:
                return None
            return json.dumps({"statements": [f"claim {i}.{j}" for j in range(n_statements(i))]})
        if prompt.startswith("[rag:faithfulness]"):
            i = int(re.search(r"claim (\d+)\.", prompt).group(1))
            return "```json\n" + json.dumps({"verdicts": [{"statement": f"claim {i}.{j}", "verdict": supported(i, j),
                                                         "reason": "-"} for j in range(n_statements(i))]}) + "\n```"
        if prompt.startswith("[rag:question]"):
            i = which(prompt, answers)
            return json.dumps({"question": generated(i, questions[i]), "noncommittal": int(i == NONCOMMITTAL)})
        if prompt.startswith("[rag:context_precision]"):
            i = which(prompt, questions)
            k = which(prompt.split("Context: ", 1)[1], data[i]["context"])
            return json.dumps({"verdict": useful(i, k), "reason": "-"})
        if prompt.startswith("[rag:context_recall]"):
            i = which(prompt, questions)
            if i == UNREADABLE_RECALL:
                return "I could not decide."
            return json.dumps({"classifications": [{"statement": "s", "attributed": a} for a in attributed(i)]})
        raise AssertionError(prompt[:80])

    return reply


def cos(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def by_hand(data):
    """Each metric's per-sample values, computed from the script with the formulas written out."""
    expected = {m: {} for m in ("faithfulness", "answer_relevancy", "context_precision", "context_recall",
                                "answer_similarity")}
    for i, row in enumerate(data):
        if i != FAILS_STATEMENTS:
            n = n_statements(i)
            expected["faithfulness"][i] = sum(supported(i, j) for j in range(n)) / n
        expected["answer_relevancy"][i] = 0.0 if i == NONCOMMITTAL else cos(
            text_vector(row["question"]), text_vector(generated(i, row["question"])))
        verdicts = [useful(i, k) for k in range(len(row["context"]))]
        numerator = sum((sum(verdicts[: k + 1]) / (k + 1)) * v for k, v in enumerate(verdicts))
        expected["context_precision"][i] = numerator / sum(verdicts) if sum(verdicts) else 0.0
        if i != UNREADABLE_RECALL:
            expected["context_recall"][i] = sum(attributed(i)) / len(attributed(i))
        expected["answer_similarity"][i] = cos(text_vector(row["answer"]), text_vector("\n".join(row["ground_truth"])))
    return expected


def test_rag_metrics_equal_the_documented_formulas_and_failures_are_counted(ray_session, tmp_path):
    data = rows()
    assert len(data) == 10
    with ScriptedChat(script(data)) as judge, FakeEmbeddings() as embedder:
        job = build_job({
            "name": "rag-test", "kind": "embed",
            "models": [{"name": "judge", "kind": "judge", "backend": "openai", "source": judge.url, "retries": 0,
                        "resources": {"num_cpus": 0.25}},
                       {"name": "emb", "backend": "openai", "source": embedder.url, "resources": {"num_cpus": 0.25}}],
            "benchmarks": [{"name": "rag", "data_dir": str(shared_data("rag") / "amnesty_qa_10" / "amnesty_qa.jsonl"),
                            "columns": {"contexts": "context"}, "judge": "judge", "embedder": "emb"}],
        })
        outcome = run_embed_job(job, output=str(tmp_path / "out"))
    result = outcome.result
    assert result["status"] == "partial" and result["counts"][0]["errors"] == 2
    got = {r["metric"]: r for r in result["scores"]}
    for metric, per_sample in by_hand(data).items():
        values = list(per_sample.values())
        assert got[metric]["n"] == len(values), metric
        assert got[metric]["value"] == pytest.approx(sum(values) / len(values), abs=1e-9), metric
        assert got[metric]["stderr"] == pytest.approx(np.std(values, ddof=1) / math.sqrt(len(values)), abs=1e-9)
    errors = {e["metric"]: e for e in result["judge_errors"]}
    assert errors["faithfulness"]["errors"] == 1 and errors["context_recall"]["errors"] == 1
    assert errors["context_precision"]["errors"] == 0 and errors["faithfulness"]["judgments"] == 10
    assert errors["faithfulness"]["failed"] == 1 and errors["context_recall"]["unparsable"] == 1
    # the failed call was not retried (retries: 0) and the other metrics of that sample were still scored
    import pandas as pd

    samples = pd.read_parquet(tmp_path / "out" / "samples" / "judge" / "rag.parquet").set_index("id")
    failed = samples.loc[str(FAILS_STATEMENTS)]
    assert "faithfulness" in json.loads(failed["metric_errors"]) and "HTTP 500" in failed["metric_errors"]
    assert failed["scores"]["faithfulness"] is None and failed["scores"]["context_recall"] is not None
