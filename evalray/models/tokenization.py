"""Prompt encoding shared by the ``hf`` and ``vllm`` backends and the hf Serve engine, as lm-evaluation-harness does it.

* Special tokens: a text is encoded with the tokenizer's own defaults (so a BOS token is prepended exactly when the
  tokenizer adds one, as ``HFLM.tok_encode`` and vLLM do), unless the text already starts with the BOS token's text
  (a chat template that writes it), which is then not doubled. ``ModelSpec.add_bos_token`` overrides the default:
  ``False`` adds no special tokens, ``True`` makes sure the ids start with the BOS id (prepending it where the
  tokenizer would not).
* Context/continuation split (``LM._encode_pair``): trailing spaces of the context move to the continuation; the
  continuation's ids are those of ``encode(context + continuation)`` after ``encode(context)``'s. An empty context is
  replaced by the prefix token (BOS, else EOS) unless the continuation already starts with it.
* Truncation is from the left: a scored sequence keeps its last ``max_length + 1`` tokens (the model sees
  ``max_length``), a generation prompt its last ``max_length - max_new_tokens``.

``tokenizer`` is a transformers tokenizer (anything callable as ``tokenizer(text, add_special_tokens=...)`` with
``.input_ids``, ``bos_token_id`` and ``eos_token_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def prefix_token_id(tokenizer: Any) -> int:
    """The token that stands in for an empty context: BOS, else EOS (lm-evaluation-harness's ``prefix_token_id``)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    return int(bos if bos is not None else tokenizer.eos_token_id)


def adds_bos_by_default(tokenizer: Any) -> bool:
    """Whether the tokenizer's default encoding starts with its BOS token."""
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    ids = list(tokenizer("x", add_special_tokens=True).input_ids)
    return bool(ids) and ids[0] == bos


def _starts_with_bos_text(tokenizer: Any, text: str) -> bool:
    marker = getattr(tokenizer, "bos_token", None) or getattr(tokenizer, "eos_token", None)
    return isinstance(marker, str) and bool(marker) and text.startswith(marker)


def _special_tokens(tokenizer: Any, text: str, add_bos: bool | None) -> dict[str, bool]:
    """Keyword arguments for the tokenizer call: none (its defaults), or no special tokens."""
    if add_bos is False or _starts_with_bos_text(tokenizer, text):
        return {"add_special_tokens": False}
    return {}


def _needs_bos(tokenizer: Any, ids: Sequence[int], add_bos: bool | None) -> bool:
    bos = getattr(tokenizer, "bos_token_id", None)
    return bool(add_bos) and bos is not None and list(ids[:1]) != [bos]


def encode(tokenizer: Any, text: str, add_bos: bool | None = None) -> list[int]:
    """Token ids of ``text`` with special tokens as the tokenizer adds them (``add_bos`` None), none (False), or with
    the BOS id first (True)."""
    ids = list(tokenizer(text, **_special_tokens(tokenizer, text, add_bos)).input_ids)
    return [int(tokenizer.bos_token_id)] + ids if _needs_bos(tokenizer, ids, add_bos) else ids


def encode_with_offsets(tokenizer: Any, text: str, add_bos: bool | None = None) -> tuple[list[int], list[int]]:
    """:func:`encode` plus each token's start offset in ``text`` (special tokens start at 0)."""
    encoded = tokenizer(text, return_offsets_mapping=True, **_special_tokens(tokenizer, text, add_bos))
    ids, offsets = list(encoded.input_ids), [start for start, _ in encoded.offset_mapping]
    if _needs_bos(tokenizer, ids, add_bos):
        ids, offsets = [int(tokenizer.bos_token_id)] + ids, [0] + offsets
    return ids, offsets


def split_context_continuation(tokenizer: Any, context: str, continuation: str,
                               add_bos: bool | None = None) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) as lm-evaluation-harness splits them (``LM.loglikelihood``)."""
    if context == "":
        cont = list(tokenizer(continuation, add_special_tokens=False).input_ids)
        prefix = prefix_token_id(tokenizer)
        if cont and cont[0] == prefix:
            return cont[:1], cont[1:]
        return [prefix], cont
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(tokenizer, context + continuation, add_bos)
    context_ids = encode(tokenizer, context, add_bos)
    if not context_ids:  # an all-space context without BOS (lm-eval asserts here): condition on the prefix token
        return [prefix_token_id(tokenizer)], whole
    return context_ids, whole[len(context_ids):]


def scoring_window(context_ids: Sequence[int], continuation_ids: Sequence[int],
                   max_length: int) -> tuple[list[int], int]:
    """The tokens of one scored pair after left truncation, and how many of them (at the end) are scored.

    The model is run on ``tokens[:-1]`` (at most ``max_length`` tokens) and the last ``n`` tokens are the
    continuation's, each predicted from the position before it."""
    tokens = (list(context_ids) + list(continuation_ids))[-(max_length + 1):]
    return tokens, min(len(continuation_ids), len(tokens) - 1)


def chat_text(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The chat template's text for ``messages`` with the generation prompt."""
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def encode_prompt(tokenizer: Any, prompt: str, messages: Sequence[dict[str, str]] = (),
                  add_bos: bool | None = None) -> list[int]:
    """Token ids of a generation prompt: a text, or chat messages rendered by the chat template."""
    text = chat_text(tokenizer, messages) if messages else prompt
    return encode(tokenizer, text, add_bos)


def truncate_prompt(tokenizer: Any, ids: Sequence[int], max_length: int, max_new_tokens: int) -> list[int]:
    """The last ``max_length - max_new_tokens`` (at least 1) prompt ids; an empty prompt becomes the prefix token."""
    keep = max(1, max_length - max_new_tokens)
    return list(ids)[-keep:] or [prefix_token_id(tokenizer)]
