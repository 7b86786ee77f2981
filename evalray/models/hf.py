"""``backend: hf``: a transformers causal LM on CPU or GPU.

Generation is batched with left padding (chat template when ``chat: true``). Log-likelihoods of continuations are
exact, and the sequences of a batch are right-padded so every real token keeps its position. Prompts are encoded by
:mod:`evalray.models.tokenization` as lm-evaluation-harness encodes them: special tokens (BOS) as the tokenizer adds
them unless ``add_bos_token`` says otherwise, the context/continuation token boundary of ``_encode_pair``, and
truncation from the left.
"""

from __future__ import annotations

from typing import Sequence

from evalray.job.spec import ModelSpec
from evalray.models.base import Backend
from evalray.models.decoding import max_new_tokens, stop_strings, truncate_stop
from evalray.models.tokenization import (
    encode_prompt, scoring_window, split_context_continuation, truncate_prompt,
)
from evalray.types import Generation, Request

__all__ = ["BACKEND", "HFBackend", "split_context_continuation", "truncate_stop"]


class HFBackend(Backend):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from evalray.models.tiny import resolve_source

        path = resolve_source(spec.source)
        self.torch = torch
        if spec.resources.num_gpus == 0 or not torch.cuda.is_available():
            torch.set_num_threads(max(1, round(spec.resources.num_cpus)))
        self.device = "cuda" if spec.resources.num_gpus > 0 and torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=spec.trust_remote_code)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = "auto" if spec.dtype == "auto" else getattr(torch, spec.dtype)
        if self.device == "cuda" and spec.resources.num_gpus > 1:  # one replica over several GPUs: shard the layers
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, trust_remote_code=spec.trust_remote_code, device_map="auto"
            )
        else:
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype, trust_remote_code=spec.trust_remote_code
            ).to(self.device)
        self.model.eval()
        config_max = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.max_length = spec.max_length or min(config_max, self.tokenizer.model_max_length or config_max)

    # ---- log-likelihood ------------------------------------------------------------------------------------------
    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        items: list[tuple[int, list[int], list[int]]] = []
        for index, request in enumerate(requests):
            for choice, continuation in enumerate(request.continuations):
                context = request.contexts[choice] if request.contexts else request.prompt
                ctx, cont = split_context_continuation(self.tokenizer, context, continuation, self.spec.add_bos_token)
                items.append((index, ctx, cont))
        scores = self._score_pairs([(ctx, cont) for _, ctx, cont in items])
        results = [Generation() for _ in requests]
        for (index, _, cont), (logprob, greedy) in zip(items, scores):
            results[index].loglikelihoods.append(logprob)
            results[index].is_greedy.append(greedy)
            results[index].continuation_tokens.append(len(cont))
        return results

    def _score_pairs(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool]]:
        torch = self.torch
        inputs = []
        for ctx, cont in pairs:
            tokens, n = scoring_window(ctx, cont, self.max_length)
            inputs.append((tokens[:-1], tokens[len(tokens) - n:]))
        order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i][0]))
        out: list[tuple[float, bool]] = [(0.0, False)] * len(inputs)
        pad = self.tokenizer.pad_token_id
        for start in range(0, len(order), self.spec.batch_size):
            chunk = order[start:start + self.spec.batch_size]
            width = max(len(inputs[i][0]) for i in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                seq = inputs[i][0]
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                logprobs = torch.log_softmax(logits.float(), dim=-1)
            for row, i in enumerate(chunk):
                seq_len, cont = len(inputs[i][0]), inputs[i][1]
                span = logprobs[row, seq_len - len(cont): seq_len]
                target = torch.tensor(cont, device=span.device)
                total = span.gather(-1, target.unsqueeze(-1)).sum().item()
                greedy = bool((span.argmax(dim=-1) == target).all().item())
                out[i] = (total, greedy)
        return out

    # ---- generation ------------------------------------------------------------------------------------------
    def _encode_prompt(self, request: Request) -> list[int]:
        """The prompt's token ids before truncation (special tokens as :func:`~evalray.models.tokenization.encode`)."""
        return encode_prompt(self.tokenizer, request.prompt, request.messages, self.spec.add_bos_token)

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        gen = self.spec.generation
        groups: dict[tuple, list[int]] = {}
        for index, request in enumerate(requests):
            max_new = max_new_tokens(request, gen)
            key = (max_new, stop_strings(request, gen), request.repeats)
            groups.setdefault(key, []).append(index)
        results: list[Generation] = [Generation() for _ in requests]
        for (max_new, stop, repeats), indices in groups.items():
            encoded = {i: self._encode_prompt(requests[i]) for i in indices}
            indices.sort(key=lambda i: -len(encoded[i]))
            for start in range(0, len(indices), self.spec.batch_size):
                chunk = indices[start:start + self.spec.batch_size]
                texts = self._generate_batch([encoded[i] for i in chunk], max_new, stop, repeats)
                for i, outputs in zip(chunk, texts):
                    results[i].texts = outputs
        return results

    def _generate_batch(self, prompts: list[list[int]], max_new: int, stop: tuple[str, ...], repeats: int) -> list[list[str]]:
        torch = self.torch
        gen = self.spec.generation
        prompts = [truncate_prompt(self.tokenizer, p, self.max_length, max_new) for p in prompts]
        width = max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, seq in enumerate(prompts):  # left padding
            ids[row, width - len(seq):] = torch.tensor(seq)
            mask[row, width - len(seq):] = 1
        sampling = gen.temperature > 0
        if gen.seed is not None:
            torch.manual_seed(gen.seed)
        kwargs = dict(
            max_new_tokens=max_new, do_sample=sampling, pad_token_id=pad,
            num_return_sequences=repeats if sampling else 1,
        )
        if sampling:
            kwargs.update(temperature=gen.temperature, top_p=gen.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kwargs.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            output = self.model.generate(input_ids=ids.to(self.device), attention_mask=mask.to(self.device), **kwargs)
        new_tokens = output[:, width:]
        decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        decoded = [truncate_stop(text, stop) for text in decoded]
        per_prompt = repeats if sampling else 1
        grouped = [decoded[i * per_prompt:(i + 1) * per_prompt] for i in range(len(prompts))]
        return [g if sampling else g * repeats for g in grouped]


BACKEND = HFBackend

from evalray.models.checkpoint import preflight  # noqa: E402,F401  (the plugin's driver-side check)
