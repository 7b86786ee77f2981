"""`evalray submit` stages the files of your own datasets (path, dev_path: a file or a directory) and the data of a
collection's components, and rewrites them to resolve inside the working_dir."""

from __future__ import annotations

from pathlib import Path

import yaml

from evalray.cluster import staging
from evalray.job.loader import build_job


def test_own_data_and_collection_components_travel(tmp_path: Path) -> None:
    quiz = tmp_path / "quiz.csv"
    quiz.write_text("question,A,B,answer\nQ?,x,y,A\n")
    folder = tmp_path / "exam"
    folder.mkdir()
    (folder / "algebra_test.csv").write_text("question,A,B,answer\n1+1?,2,3,A\n")
    (folder / "algebra_dev.csv").write_text("question,A,B,answer\n0+1?,1,0,A\n")
    gsm8k = tmp_path / "gsm8k"
    gsm8k.mkdir()
    (gsm8k / "test.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n')
    job = {"name": "own", "models": [{"name": "m", "source": "builtin:tiny-llama"}], "benchmarks": [
        {"name": "quiz", "type": "general_mcq", "path": str(quiz), "dev_path": str(folder)},
        {"name": "mix", "collection": {"benchmarks": [{"name": "gsm8k", "data_dir": str(gsm8k)},
                                                      {"name": "exam", "type": "general_mcq", "path": str(folder)},
                                                      {"name": "mmlu", "data_dir": "builtin:quickstart/mmlu"}]}}]}
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(job))
    staged = staging.stage_job(job_file, [], "sid", tmp_path / "stage", upload_package=False)
    staged_job = yaml.safe_load((staged.working_dir / staged.job_file).read_text())
    quiz_entry, mix = staged_job["benchmarks"]
    assert quiz_entry["path"] == "data/0-path-quiz/quiz.csv" and quiz_entry["dev_path"] == "data/0-dev-path-exam"
    parts = mix["collection"]["benchmarks"]
    assert (parts[0]["data_dir"], parts[1]["path"], parts[2]["data_dir"]) == (
        "data/1.0-gsm8k", "data/1.1-path-exam", "builtin:quickstart/mmlu")
    for relative in (quiz_entry["path"], quiz_entry["dev_path"] + "/algebra_dev.csv", parts[0]["data_dir"] + "/test.jsonl",
                     parts[1]["path"] + "/algebra_test.csv"):
        assert (staged.working_dir / relative).is_file(), relative
    assert len(staged.uploaded) == 4
    build_job(staged_job)  # still a valid job
