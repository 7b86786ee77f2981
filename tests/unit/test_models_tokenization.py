"""evalray.models.tokenization on the two builtin tokenizers (one adds BOS, one does not), checked against the
tokenizers' own encodings and against lm-evaluation-harness's HFLM encoding methods (no Ray, no model weights)."""

from __future__ import annotations

import pytest

from evalray.models import tokenization as tok
from evalray.models.tiny import resolve_source

CONTEXT, CONTINUATION = "Question: Which gas do plants take in?\nAnswer:", " carbon dioxide"


@pytest.fixture(scope="module", params=["tiny-llama", "tiny-gpt2"])
def tokenizer(request):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_source(f"builtin:{request.param}"))


def _plain(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False).input_ids)


def test_bos_is_added_iff_the_tokenizer_adds_it(tokenizer):
    adds = tok.adds_bos_by_default(tokenizer)
    assert adds == (tokenizer.bos_token == "<s>")  # tiny-llama adds <s>, tiny-gpt2 adds nothing
    assert tok.encode(tokenizer, CONTEXT) == list(tokenizer(CONTEXT).input_ids)
    assert tok.encode(tokenizer, CONTEXT) == ([tokenizer.bos_token_id] if adds else []) + _plain(tokenizer, CONTEXT)


def test_add_bos_token_overrides_both_ways(tokenizer):
    plain = _plain(tokenizer, CONTEXT)
    assert tok.encode(tokenizer, CONTEXT, add_bos=False) == plain
    assert tok.encode(tokenizer, CONTEXT, add_bos=True) == [tokenizer.bos_token_id] + plain
    ctx, cont = tok.split_context_continuation(tokenizer, CONTEXT, CONTINUATION, add_bos=True)
    assert ctx[0] == tokenizer.bos_token_id and ctx[1:] == plain
    ctx_without, cont_without = tok.split_context_continuation(tokenizer, CONTEXT, CONTINUATION, add_bos=False)
    assert ctx_without == plain and cont_without == cont  # the continuation's tokens do not depend on BOS


def test_text_starting_with_bos_gets_no_second_one(tokenizer):
    text = tokenizer.bos_token + "hello"
    ids = tok.encode(tokenizer, text)
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id


@pytest.mark.parametrize("add_bos", [None, True, False])
def test_split_is_lm_eval_encode_pair(tokenizer, add_bos):
    from lm_eval.api.model import TemplateLM
    from lm_eval.models.huggingface import HFLM

    class Harness:  # HFLM's own encoding methods on this tokenizer, without loading a model
        backend = "causal"
        prefix_token_id = HFLM.prefix_token_id
        tok_encode = HFLM.tok_encode
        _encode_pair = TemplateLM._encode_pair

    harness = Harness()
    harness.tokenizer, harness.add_bos_token, harness.custom_prefix_token_id = tokenizer, add_bos, None
    if add_bos is True and not tok.adds_bos_by_default(tokenizer):
        pytest.skip("lm-eval's add_bos_token=True cannot add a BOS the tokenizer does not add (evalray prepends it)")
    for context, continuation in [(CONTEXT, CONTINUATION), ("Answer: ", "B"), ("The sky is", " blue"),
                                  (tokenizer.bos_token + "x", " y")]:
        assert tok.split_context_continuation(tokenizer, context, continuation, add_bos) == \
            harness._encode_pair(context, continuation), (context, continuation)
    # the trailing space of the context moves to the continuation
    ctx, cont = tok.split_context_continuation(tokenizer, "Answer: ", "B", add_bos)
    assert tokenizer.decode(cont) == " B" and tokenizer.decode(ctx, skip_special_tokens=True) == "Answer:"


def test_empty_context_is_the_prefix_token(tokenizer):
    ctx, cont = tok.split_context_continuation(tokenizer, "", "yes")
    assert ctx == [tok.prefix_token_id(tokenizer)] and cont == _plain(tokenizer, "yes")
    assert tok.prefix_token_id(tokenizer) == tokenizer.bos_token_id
    # a continuation that starts with the prefix token conditions on it instead
    ctx, cont = tok.split_context_continuation(tokenizer, "", tokenizer.bos_token + "yes")
    assert ctx == [tokenizer.bos_token_id] and cont == _plain(tokenizer, "yes")


def test_truncation_is_from_the_left():
    tokens, n = tok.scoring_window([1, 2, 3, 4, 5], [6, 7], max_length=4)
    assert tokens == [3, 4, 5, 6, 7] and n == 2  # the model sees 4 tokens and predicts the last 2
    tokens, n = tok.scoring_window([1], [2, 3, 4, 5, 6], max_length=3)
    assert tokens == [3, 4, 5, 6] and n == 3
    assert tok.truncate_prompt(None, [1, 2, 3, 4], max_length=5, max_new_tokens=2) == [2, 3, 4]


def test_vllm_encoder_gives_the_engine_the_tokenizers_special_tokens(tokenizer):
    """The vllm backend hands token ids to the engine: the same BOS rule and split (no engine needed)."""
    from evalray.job import spec as specs
    from evalray.models.vllm_backend import CONT_LEN, Encoder
    from evalray.types import Request

    source = "builtin:tiny-llama" if tokenizer.bos_token == "<s>" else "builtin:tiny-gpt2"
    fields = {"name": "t", "backend": "vllm", "source": source}
    parse = getattr(specs, "parse_model_spec", None)
    encoder = Encoder(parse(fields) if parse else specs.ModelSpec(**fields), resolve_source(source), 2048)
    generate = encoder.parts(Request(kind="generate", prompt=CONTEXT, max_tokens=8))
    assert generate[0]["tokenized_prompt"] == list(tokenizer(CONTEXT).input_ids)
    (scored,) = encoder.parts(Request(kind="loglikelihood", prompt=CONTEXT, continuations=(CONTINUATION,)))
    ctx, cont = tok.split_context_continuation(tokenizer, CONTEXT, CONTINUATION)
    assert scored["tokenized_prompt"] == ctx + cont and scored[CONT_LEN] == len(cont)
    assert (scored["tokenized_prompt"][0] == tokenizer.bos_token_id) == tok.adds_bos_by_default(tokenizer)
