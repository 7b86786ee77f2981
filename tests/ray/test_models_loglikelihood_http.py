"""WinoGrande, PIQA and ARC-Easy through ``openai`` and ``serve`` give the ``hf`` choices, 200 items each.

WinoGrande scores each option given its own context (``Request.contexts``): a stage that drops that column gives
both options the same log-likelihood and always chooses option 0; this test sees that, on every backend that speaks
HTTP. The ``openai`` model talks to evalray's hf-backed Serve app, so all three compute from the same tiny weights.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import free_port, shared_data

pytestmark = pytest.mark.timeout(1200)
ITEMS = 200
BENCHMARKS = {"winogrande": "winogrande", "piqa": "piqa", "arc_easy": "arc"}
COMMON = {"source": "builtin:tiny-llama", "dtype": "float32", "batch_size": 16, "resources": {"num_cpus": 0.5}}


@pytest.fixture(scope="module")
def served_app(ray_session):
    from ray import serve

    from evalray.job.spec import parse_model_spec
    from evalray.serving import deploy

    port = free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    spec = parse_model_spec({"name": "tiny-app", "backend": "serve", **COMMON, "keep": True,
                             "serving": {"engine": "hf", "port": port, "app_name": "evalray-ll-test"}})
    deployment = deploy.deploy(spec)
    yield deployment, port
    deploy.teardown(deployment)


@pytest.fixture(scope="module")
def run(served_app, tmp_path_factory):
    from evalray.job.loader import build_job
    from evalray.pipeline.runner import run_job

    deployment, port = served_app
    out = tmp_path_factory.mktemp("ll-backends") / "out"
    job = build_job({
        "name": "ll-backends", "output": str(out),
        "models": [
            {"name": "hf", "backend": "hf", **COMMON},
            {"name": "openai", "backend": "openai", "source": deployment.url, "model_id": deployment.model_id,
             "concurrency": 8, "resources": {"num_cpus": 0.25}},
            {"name": "serve", "backend": "serve", **COMMON,
             "serving": {"engine": "hf", "port": port, "app_name": "evalray-ll-job"}},
        ],
        "benchmarks": [{"name": name, "data_dir": str(shared_data(folder)), "limit": ITEMS, "mode": "loglikelihood"}
                       for name, folder in BENCHMARKS.items()],
    })
    run_job(job, progress=False)
    return out


@pytest.mark.parametrize("benchmark", list(BENCHMARKS))
@pytest.mark.parametrize("backend", ["openai", "serve"])
def test_http_backends_choose_what_hf_chooses(run, benchmark, backend):
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "completed", result.get("error")
    hf = pd.read_parquet(run / "samples" / "hf" / f"{benchmark}.parquet").set_index("uid")
    other = pd.read_parquet(run / "samples" / backend / f"{benchmark}.parquet").set_index("uid")
    assert len(hf) == ITEMS and sorted(other.index) == sorted(hf.index)
    assert other["error"].isna().all(), other["error"].dropna().head(2).tolist()
    other = other.loc[hf.index]
    assert list(other["extracted"]) == list(hf["extracted"])
    worst = max(abs(a - b) for x, y in zip(hf["loglikelihoods"], other["loglikelihoods"]) for a, b in zip(x, y))
    assert worst < 1e-3, f"largest log-likelihood difference {worst}"
    if benchmark == "winogrande":  # the per-option contexts arrived: the options' scores differ
        assert all(len(set(v)) > 1 for v in other["loglikelihoods"])
