"""The hf backend on the built-in tiny models, without Ray: chat template, stop strings, repeats, batching, and BOS
as each tokenizer adds it (tiny-llama adds ``<s>``, tiny-gpt2 adds nothing)."""

from __future__ import annotations

import pytest
import torch

from evalray.job.spec import HFModelSpec as ModelSpec
from evalray.types import Request


def _spec(**fields):
    from evalray.job import spec

    parse = getattr(spec, "parse_model_spec", None)  # the spec module may build per-backend specs
    return parse({"backend": "hf", **fields}) if parse else ModelSpec(**fields)


def _backend(source: str, **fields):
    from evalray.models.hf import HFBackend

    return HFBackend(_spec(name="tiny", source=source, batch_size=3,
                           generation={"max_tokens": 12, "temperature": 0.0}, **fields))


@pytest.fixture(scope="module")
def backend():
    return _backend("builtin:tiny-llama")


@pytest.fixture(scope="module")
def gpt2():
    return _backend("builtin:tiny-gpt2")


def test_greedy_generation_is_deterministic_and_batch_independent(backend):
    requests = [Request(kind="generate", prompt=f"Question: {i} apples?\nAnswer:", max_tokens=8) for i in range(5)]
    together = backend.generate(requests)
    alone = [backend.generate([r])[0] for r in requests]
    assert [g.texts for g in together] == [g.texts for g in alone]


def test_chat_messages_go_through_the_chat_template(backend):
    request = Request(kind="generate", messages=({"role": "user", "content": "hello"},), max_tokens=4, repeats=2)
    encoded = backend._encode_prompt(request)
    text = backend.tokenizer.decode(encoded)
    assert text.startswith("<s>user\nhello</s>") and text.endswith("<s>assistant\n")
    assert encoded[:2] != [backend.tokenizer.bos_token_id] * 2  # the template writes <s>: no second one is added
    generation = backend.generate([request])[0]
    assert len(generation.texts) == 2 and generation.texts[0] == generation.texts[1]


def _unbatched(tokenizer, model, context: str, continuation: str, bos: bool) -> float:
    prefix = [tokenizer.bos_token_id] if bos else []
    whole = prefix + tokenizer(context + continuation, add_special_tokens=False).input_ids
    n = len(prefix) + len(tokenizer(context, add_special_tokens=False).input_ids)
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0], -1)
    return sum(logprobs[i - 1, whole[i]].item() for i in range(n, len(whole)))


@pytest.mark.parametrize("which", ["backend", "gpt2"])
def test_loglikelihood_matches_an_unbatched_forward_pass(which, request):
    backend = request.getfixturevalue(which)
    bos = which == "backend"  # tiny-llama's tokenizer adds <s>; tiny-gpt2's adds nothing
    prompt_request = Request(kind="loglikelihood", prompt="The sky is", continuations=(" blue", " green and wide", " x"))
    result = backend.loglikelihood([prompt_request, prompt_request])[1]
    for continuation, value in zip(prompt_request.continuations, result.loglikelihoods):
        expected = _unbatched(backend.tokenizer, backend.model, prompt_request.prompt, continuation, bos)
        assert value == pytest.approx(expected, abs=1e-4)
    assert result.continuation_tokens[1] > result.continuation_tokens[0]


def test_add_bos_token_forces_bos_both_ways(backend, gpt2):
    request = Request(kind="loglikelihood", prompt="The sky is", continuations=(" blue",))
    for model, force in ((backend, False), (gpt2, True)):
        forced = _backend(model.spec.source, add_bos_token=force)
        value = forced.loglikelihood([request])[0].loglikelihoods[0]
        assert value == pytest.approx(_unbatched(model.tokenizer, model.model, "The sky is", " blue", force), abs=1e-4)
        assert value != pytest.approx(model.loglikelihood([request])[0].loglikelihoods[0], abs=1e-3)
        assert forced._encode_prompt(Request(kind="generate", prompt="hi"))[:1] == (
            [model.tokenizer.bos_token_id] if force else model.tokenizer("hi", add_special_tokens=False).input_ids[:1])
