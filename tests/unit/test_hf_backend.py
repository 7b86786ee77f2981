"""The hf backend on the built-in tiny model, without Ray: chat template, stop strings, repeats, batching."""

from __future__ import annotations

import pytest
import torch

from evalray.job.spec import ModelSpec
from evalray.types import Request


@pytest.fixture(scope="module")
def backend():
    from evalray.models.hf import HFBackend

    return HFBackend(ModelSpec(name="tiny", source="builtin:tiny-llama", batch_size=3,
                               generation={"max_tokens": 12, "temperature": 0.0}))


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
    generation = backend.generate([request])[0]
    assert len(generation.texts) == 2 and generation.texts[0] == generation.texts[1]


def test_loglikelihood_matches_an_unbatched_forward_pass(backend):
    request = Request(kind="loglikelihood", prompt="The sky is", continuations=(" blue", " green and wide", " x"))
    result = backend.loglikelihood([request, request])[1]
    tokenizer, model = backend.tokenizer, backend.model
    for continuation, value in zip(request.continuations, result.loglikelihoods):
        whole = tokenizer(request.prompt + continuation, add_special_tokens=False).input_ids
        n = len(tokenizer(request.prompt, add_special_tokens=False).input_ids)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([whole[:-1]])).logits[0], -1)
        assert value == pytest.approx(sum(logprobs[i - 1, whole[i]].item() for i in range(n, len(whole))), abs=1e-4)
    assert result.continuation_tokens[1] > result.continuation_tokens[0]
