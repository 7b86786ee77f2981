"""`evalray submit` of a kind: embed job: its task files and local model directory travel in the working_dir and the
staged job names them there; hub ids, URLs and builtin: sources are left alone."""

from __future__ import annotations

import yaml

from evalray.cluster import staging


def test_an_embed_jobs_data_files_and_model_dir_are_staged(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("sentence1,sentence2,score\na,b,1\n")
    beir = tmp_path / "beir"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text('{"_id": "d", "text": "t"}\n')
    model = tmp_path / "my-encoder"
    model.mkdir()
    (model / "config.json").write_text("{}")
    job = tmp_path / "embed.yaml"
    job.write_text(yaml.safe_dump({
        "name": "e", "kind": "embed",
        "models": [{"name": "local", "source": str(model)}, {"name": "hub", "source": "BAAI/bge-small-en-v1.5"},
                   {"name": "srv", "backend": "openai", "source": "http://10.0.0.1:8000/v1"},
                   {"name": "pkg", "source": "builtin:all-minilm-l6-v2"}],
        "benchmarks": [{"name": "sts", "data_dir": str(pairs)}, {"name": "retrieval", "data_dir": str(beir)}],
    }))
    staged = staging.stage_job(job, [], "sub-e", tmp_path / "stage")
    written = yaml.safe_load((staged.working_dir / staged.job_file).read_text())
    sts, retrieval = (b["data_dir"] for b in written["benchmarks"])
    assert (staged.working_dir / sts).is_file() and sts.endswith("pairs.csv")
    assert (staged.working_dir / retrieval / "corpus.jsonl").is_file()
    sources = [m["source"] for m in written["models"]]
    assert (staged.working_dir / sources[0] / "config.json").is_file()
    assert sources[1:] == ["BAAI/bge-small-en-v1.5", "http://10.0.0.1:8000/v1", "builtin:all-minilm-l6-v2"]
