"""``backend: serve`` with evalray's hf-backed OpenAI deployment on the tiny Llama: the API, deploy/attach/teardown,
and MMLU choices equal to ``backend: hf``."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import SHARED_DATA as DATA  # noqa: E402  (../shared/data beside the repository)


from tests.conftest import free_port, hf_twin  # noqa: E402



def tiny_spec(**update):
    from evalray.job.spec import parse_model_spec

    fields = dict(name="tiny", backend="serve", source="builtin:tiny-llama", dtype="float32", batch_size=16,
                  resources={"num_cpus": 0.5}, generation={"max_tokens": 16},
                  serving={"engine": "hf", "port": PORT, "startup_timeout_s": 300})
    fields.update(update)
    return parse_model_spec(fields)


PORT = free_port()


@pytest.fixture(scope="module")
def ray_serve(ray_session):
    from ray import serve

    serve.start(http_options={"host": "127.0.0.1", "port": PORT})
    yield serve
    serve.shutdown()


@pytest.fixture(scope="module")
def deployment(ray_serve):
    from evalray.serving import deploy

    spec = tiny_spec(keep=True, serving={"engine": "hf", "port": PORT, "app_name": "evalray-api-test"})
    d = deploy.deploy(spec)
    yield d
    deploy.teardown(d)


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def stream(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps({**body, "stream": True}).encode(),
                                     headers={"Content-Type": "application/json"})
    events = []
    with urllib.request.urlopen(request, timeout=120) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("data: "):
                events.append(line[6:])
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


@pytest.mark.timeout(600)
def test_models_and_completions_match_the_hf_backend(deployment):
    from evalray.models.hf import HFBackend
    from evalray.types import Request

    with urllib.request.urlopen(deployment.url + "/models", timeout=30) as response:
        assert [m["id"] for m in json.loads(response.read())["data"]] == ["tiny"]
    prompts = ["Question: 2 + 3 = ?\nAnswer:", "The capital of France is", "Once upon a time"]
    status, body = post(deployment.url + "/completions",
                        {"model": "tiny", "prompt": prompts, "max_tokens": 12, "temperature": 0, "stop": ["\n\n"]})
    assert status == 200, body
    texts = [c["text"] for c in sorted(body["choices"], key=lambda c: c["index"])]
    local = HFBackend(hf_twin(tiny_spec(), generation={"max_tokens": 12}))
    expected = local.generate([Request(kind="generate", prompt=p, stop=("\n\n",), max_tokens=12) for p in prompts])
    assert texts == [g.texts[0] for g in expected]
    assert body["usage"]["prompt_tokens"] > 0


@pytest.mark.timeout(600)
def test_echo_logprobs_and_errors(deployment):
    status, body = post(deployment.url + "/completions", {"model": "tiny", "prompt": "Answer: A", "max_tokens": 1,
                                                          "temperature": 0, "echo": True, "logprobs": 1})
    assert status == 200, body
    logprobs = body["choices"][0]["logprobs"]
    assert logprobs["token_logprobs"][0] is None and len(logprobs["tokens"]) == len(logprobs["text_offset"])
    assert all(v < 0 for v in logprobs["token_logprobs"][1:])
    assert body["choices"][0]["text"].startswith("Answer: A")
    assert post(deployment.url + "/completions", {"model": "other", "prompt": "x"})[0] == 404
    assert post(deployment.url + "/chat/completions", {"model": "tiny", "messages": []})[0] == 400


@pytest.mark.timeout(600)
def test_streaming_completions_and_chat(deployment):
    body = {"model": "tiny", "prompt": "Once upon a time", "max_tokens": 10, "temperature": 0,
            "stream_options": {"include_usage": True}}
    events = stream(deployment.url + "/completions", body)
    streamed = "".join(c["text"] for e in events for c in e["choices"])
    status, whole = post(deployment.url + "/completions", {k: v for k, v in body.items() if k != "stream_options"})
    assert streamed == whole["choices"][0]["text"]
    assert events[-1]["usage"]["completion_tokens"] > 0
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0}
    events = stream(deployment.url + "/chat/completions", chat)
    streamed = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
    status, whole = post(deployment.url + "/chat/completions", chat)
    assert status == 200 and streamed == whole["choices"][0]["message"]["content"]


@pytest.mark.timeout(600)
def test_attach_by_app_name_and_url(deployment):
    from evalray.serving.backend import driver_context

    for source in (f"serve://{deployment.app_name}", deployment.url):
        with driver_context(tiny_spec(source=source)) as client:
            assert client.backend == "openai" and client.source == deployment.url and client.model_id == "tiny"
    from ray import serve

    assert deployment.app_name in serve.status().applications  # attaching never tears down


def mmlu_requests():
    from evalray.benchmarks import registry
    from evalray.job.spec import BenchmarkSpec

    if not (DATA / "mmlu").is_dir():
        pytest.skip(f"no local MMLU copy under {DATA}")
    entry = BenchmarkSpec(name="mmlu", limit=50, subsets=["abstract_algebra", "anatomy"], data_dir=str(DATA / "mmlu"))
    return [request for _, request, _ in registry.get("mmlu").requests(entry, False, 0)]


@pytest.mark.timeout(900)
def test_serve_gives_the_hf_choices_and_is_gone_afterwards(ray_serve):
    from evalray.models.hf import HFBackend
    from evalray.models.openai_backend import OpenAIBackend
    from evalray.serving.backend import driver_context

    requests = mmlu_requests()
    assert len(requests) == 100
    spec = tiny_spec(serving={"engine": "hf", "port": PORT, "app_name": "evalray-mmlu-test"})
    with driver_context(spec) as client:
        assert "evalray-mmlu-test" in ray_serve.status().applications
        backend = OpenAIBackend(client)
        try:
            served = backend.loglikelihood(requests)
        finally:
            backend.close()
    assert "evalray-mmlu-test" not in ray_serve.status().applications
    local = HFBackend(hf_twin(tiny_spec())).loglikelihood(requests)
    assert all(g.error is None for g in served), [g.error for g in served if g.error][:2]

    def choice(g):
        return max(range(len(g.loglikelihoods)), key=g.loglikelihoods.__getitem__)

    assert [choice(g) for g in served] == [choice(g) for g in local]
    assert max(abs(a - b) for s, h in zip(served, local) for a, b in zip(s.loglikelihoods, h.loglikelihoods)) < 1e-3
