"""Backend pieces that need no Ray: replay files, the lm-eval token split, echo+logprobs parsing, URLs."""

from __future__ import annotations

import json

import pytest

from evalray.errors import BackendError
from evalray.job.spec import ReplayModelSpec as ModelSpec
from evalray.models.hf import split_context_continuation, truncate_stop
from evalray.models.openai_backend import base_url, continuation_logprob
from evalray.models.replay import ReplayBackend
from evalray.types import Request


def test_replay_file_and_directory(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "0", "output": "18"}, {"id": "a/1", "benchmark": "mmlu", "output": "B"},
        {"id": "HumanEval/0", "output": ["x", "y"]}]) + "\n")
    backend = ReplayBackend(ModelSpec(name="r", backend="replay", source=str(path)))
    answers = backend.generate([Request(kind="generate", uid="gsm8k::0"), Request(kind="generate", uid="mmlu::a/1"),
                                Request(kind="generate", uid="humaneval::HumanEval/0", repeats=2),
                                Request(kind="generate", uid="gsm8k::99")])
    assert [a.texts for a in answers[:3]] == [["18"], ["B"], ["x", "y"]]
    assert answers[3].error == "replay: no output for gsm8k id 99"
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "gsm8k.jsonl").write_text('{"id": "0", "output": "7"}\n')
    backend = ReplayBackend(ModelSpec(name="r", backend="replay", source=str(folder)))
    assert backend.generate([Request(kind="generate", uid="gsm8k::0")])[0].texts == ["7"]


def test_replay_bad_line_is_one_clear_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n')
    with pytest.raises(BackendError, match="bad.jsonl:1: not a replay line"):
        ReplayBackend(ModelSpec(name="r", backend="replay", source=str(path)))


class CharTokenizer:
    """One token per character: makes the boundary rule visible."""

    bos_token_id, eos_token_id = 0, 1

    def __call__(self, text, add_special_tokens=False):
        class Out:
            input_ids = [ord(c) for c in text]

        return Out()


def test_split_moves_trailing_spaces_to_the_continuation():
    ctx, cont = split_context_continuation(CharTokenizer(), "Answer: ", "B")
    assert ctx == [ord(c) for c in "Answer:"] and cont == [ord(" "), ord("B")]
    ctx, cont = split_context_continuation(CharTokenizer(), "", "hi")
    assert ctx == [0] and cont == [ord("h"), ord("i")]


def test_truncate_stop():
    assert truncate_stop("42\n\nQuestion: next", ["Question:", "</s>"]) == "42\n\n"
    assert truncate_stop("no stop", ["X"]) == "no stop"


def test_echo_logprobs_parsing_sums_the_continuation_tokens():
    body = {"choices": [{"logprobs": {
        "tokens": ["Answer", ":", " B", "!"], "text_offset": [0, 6, 7, 9],
        "token_logprobs": [None, -1.0, -0.5, -3.0],
        "top_logprobs": [None, {":": -1.0}, {" B": -0.5, " A": -0.9}, {"!": -3.0}]}}]}
    assert continuation_logprob(body, 7, 9) == (-0.5, True, 1)
    with pytest.raises(BackendError, match="echo\\+logprobs"):
        continuation_logprob({"choices": [{"text": "x"}]}, 0, 1)


def test_base_url():
    assert base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert base_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    with pytest.raises(BackendError):
        base_url("localhost:8000")


def test_request_columns_round_trip():
    from evalray.rows import decode_request, encode_request

    request = Request(kind="loglikelihood", prompt="p", continuations=(" a", " b"), contexts=("x _", "y _"),
                      messages=({"role": "user", "content": "hi"},), stop=("\n",), max_tokens=5, repeats=2, uid="b::1")
    assert decode_request({**encode_request(request), "uid": "b::1"}) == request


def test_echo_offsets_after_a_bos_token_the_server_added():
    """vLLM counts the BOS token's text ("<s>") in the echoed offsets while the echoed text is the prompt itself:
    the continuation's tokens are still found."""
    from evalray.models.openai_backend import continuation_logprob

    tokens = ["<s>", "Q", ":", " A", " B", "!"]
    body = {"choices": [{"text": "Q: A B!", "logprobs": {
        "tokens": tokens, "text_offset": [0, 3, 4, 5, 7, 9], "token_logprobs": [None, -1.0, -1.0, -0.5, -0.25, -2.0],
        "top_logprobs": [None, {"Q": -1.0}, {":": -1.0}, {" A": -0.5}, {" B": -0.25}, {"!": -2.0}]}}]}
    assert continuation_logprob(body, len("Q: A"), len("Q: A B")) == (-0.25, True, 1)
    no_bos = {"choices": [{"text": "Q: A B!", "logprobs": {
        "tokens": tokens[1:], "text_offset": [0, 1, 2, 4, 6], "token_logprobs": [None, -1.0, -0.5, -0.25, -2.0],
        "top_logprobs": [None, {":": -1.0}, {" A": -0.5}, {" B": -0.25}, {"!": -2.0}]}}]}
    assert continuation_logprob(no_bos, len("Q: A"), len("Q: A B")) == (-0.25, True, 1)
