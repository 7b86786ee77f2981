"""The model side of evalray's OpenAI-compatible deployment: the ``hf`` backend plus what the API needs on top of it
(per-request sampling settings, echoed prompt log-probs, token streaming, token counts).

Generation goes through :meth:`HFBackend.generate`, so a completion served here is exactly what ``backend: hf``
produces for the same prompt and settings. Nothing here knows about HTTP or Ray Serve.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from evalray.job.spec import GenerationSpec, ModelSpec
from evalray.types import Request


@dataclass(frozen=True)
class Sampling:
    """The per-request decoding settings of one API call."""

    max_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    ignore_eos: bool = False


@dataclass
class Completion:
    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    finish_reasons: list[str] = field(default_factory=list)


class HFEngine:
    """One hf model in one Serve replica. Calls are serialized by a lock (one model, one forward at a time)."""

    def __init__(self, spec: ModelSpec) -> None:
        from evalray.models.hf import HFBackend

        self.spec = spec
        self.backend = HFBackend(spec)
        self.tokenizer = self.backend.tokenizer
        self.lock = threading.Lock()

    # ---- generation ----------------------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str | list[dict[str, str]]], sampling: Sampling) -> list[Completion]:
        """One completion (``n`` texts) per prompt; a prompt is a text or a list of chat messages."""
        requests = [self._request(p, sampling) for p in prompts]
        generation = GenerationSpec(max_tokens=max(1, sampling.max_tokens), temperature=sampling.temperature,
                                    top_p=sampling.top_p, seed=sampling.seed, stop=[])
        with self.lock:
            self.backend.spec = self.spec.model_copy(update={"generation": generation})
            try:
                answers = self.backend.generate(requests)
            finally:
                self.backend.spec = self.spec
        out = []
        for request, answer in zip(requests, answers):
            if answer.error:
                raise RuntimeError(answer.error)
            tokens = [len(self.tokenizer(t, add_special_tokens=False).input_ids) for t in answer.texts]
            reasons = ["length" if n >= sampling.max_tokens else "stop" for n in tokens]
            out.append(Completion(answer.texts, len(self.backend._encode_prompt(request)), sum(tokens), reasons))
        return out

    def _request(self, prompt: str | list[dict[str, str]], sampling: Sampling) -> Request:
        if isinstance(prompt, str):
            return Request(kind="generate", prompt=prompt, stop=sampling.stop, max_tokens=sampling.max_tokens,
                           repeats=sampling.n)
        return Request(kind="generate", messages=tuple(prompt), stop=sampling.stop, max_tokens=sampling.max_tokens,
                       repeats=sampling.n)

    def stream(self, prompt: str | list[dict[str, str]], sampling: Sampling) -> Iterator[str]:
        """Text deltas of one generation as the model produces them (stop strings are never emitted)."""
        from transformers import TextIteratorStreamer

        from evalray.models.decoding import truncate_stop
        from evalray.models.tokenization import truncate_prompt

        torch = self.backend.torch
        ids = self.backend._encode_prompt(self._request(prompt, sampling))
        ids = truncate_prompt(self.tokenizer, ids, self.backend.max_length, sampling.max_tokens)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs: dict[str, Any] = dict(max_new_tokens=sampling.max_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                      streamer=streamer)
        if sampling.temperature > 0:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if sampling.ignore_eos:
            kwargs["min_new_tokens"] = sampling.max_tokens
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        input_ids = torch.tensor([ids], device=self.backend.device)

        def run() -> None:
            with self.lock, torch.inference_mode():
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                try:
                    self.backend.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                                **kwargs)
                except Exception:
                    streamer.end()  # never leave the reader waiting
                    raise

        thread = threading.Thread(target=run, daemon=True, name="evalray-stream")
        thread.start()
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        text, sent = "", 0
        for piece in streamer:
            text += piece
            cut = truncate_stop(text, sampling.stop)
            if len(cut) < len(text):  # a stop string appeared: emit up to it and finish
                if len(cut) > sent:
                    yield cut[sent:]
                break
            if len(text) - hold > sent:
                yield text[sent:len(text) - hold]
                sent = len(text) - hold
        else:
            if len(text) > sent:
                yield text[sent:]
            thread.join()
            return
        for _ in streamer:  # stopped early: drain until generate ends (it stops by itself at the stop string)
            pass
        thread.join()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def prompt_tokens(self, prompt: str | list[dict[str, str]]) -> int:
        return len(self.backend._encode_prompt(self._request(prompt, Sampling())))

    # ---- echoed prompt log-probs ---------------------------------------------------------------------------------
    def echo_logprobs(self, prompts: Sequence[str], top: int, max_tokens: int) -> list[dict[str, Any]]:
        """OpenAI ``logprobs`` objects (tokens, token_logprobs, top_logprobs, text_offset) of each prompt's own tokens,
        plus ``max_tokens`` (0 or 1) greedy continuation token; tokens are scored as the hf backend scores them."""
        torch = self.backend.torch
        encoded = [self._encode_with_offsets(p) for p in prompts]
        results = []
        with self.lock:
            for ids, offsets, prompt in encoded:
                with torch.inference_mode():
                    tensor = torch.tensor([ids], device=self.backend.device)
                    logits = self.backend.model(input_ids=tensor).logits[0]
                    logprobs = torch.log_softmax(logits.float(), dim=-1)
                results.append(self._logprob_object(ids, offsets, prompt, logprobs, top, max_tokens))
        return results

    def _encode_with_offsets(self, prompt: str) -> tuple[list[int], list[int], str]:
        from evalray.models.tokenization import encode_with_offsets, prefix_token_id

        # special tokens (BOS) as the hf backend and vLLM's /v1/completions add them
        ids, offsets = encode_with_offsets(self.tokenizer, prompt, self.spec.add_bos_token)
        if not ids:  # score an empty prompt from the prefix token (BOS, else EOS)
            ids, offsets = [prefix_token_id(self.tokenizer)], [0]
        keep = self.backend.max_length
        return ids[-keep:], offsets[-keep:], prompt

    def _logprob_object(self, ids, offsets, prompt, logprobs, top: int, max_tokens: int) -> dict[str, Any]:
        convert = self.tokenizer.convert_ids_to_tokens
        tokens = convert(ids)
        values: list[float | None] = [None]
        tops: list[dict[str, float] | None] = [None]
        for position in range(1, len(ids)):
            row = logprobs[position - 1]
            values.append(float(row[ids[position]]))
            tops.append(self._top(row, top, convert))
        text = prompt
        if max_tokens > 0:
            row = logprobs[len(ids) - 1]
            next_id = int(row.argmax())
            tokens.append(convert(next_id))
            values.append(float(row[next_id]))
            tops.append(self._top(row, top, convert))
            offsets = list(offsets) + [len(prompt)]
            text = prompt + self.tokenizer.decode([next_id], skip_special_tokens=True)
        return {"text": text, "tokens": tokens, "token_logprobs": values, "top_logprobs": tops,
                "text_offset": list(offsets)}

    @staticmethod
    def _top(row, top: int, convert) -> dict[str, float]:
        values, indices = row.topk(max(1, top))
        return {convert(int(i)): float(v) for v, i in zip(values, indices)}
