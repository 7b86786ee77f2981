"""The job spec: pydantic models for a YAML job file. Every field carries a description (``evalray validate`` and the
docs show them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    model_validator,
)

from evalray.errors import did_you_mean
from evalray.job.base import MAX_COUNT, JobBase, RaySpec, SafeName, StrictModel  # noqa: F401  (RaySpec re-exported)
from evalray.job.benchmark_spec import (  # noqa: F401  (re-exported: the benchmark entries of a job)
    GENERAL_TYPES, MAX_TOKENS, QA_METRICS, SAMPLINGS, AnchorSpec, ArenaSpec, BenchmarkSpec, CollectionSpec, ColumnsSpec,
    JudgeStrategySpec, collection_labels, known_benchmarks)

MAX_TIMEOUT_S = 86_400.0

BACKENDS = ("hf", "openai", "replay", "vllm", "serve", "simulated")


class Resources(StrictModel):
    num_cpus: float = Field(1.0, ge=0, le=MAX_COUNT, description="CPUs reserved by each model actor (fractions "
                            "allowed).")
    num_gpus: float = Field(0.0, ge=0, le=MAX_COUNT, description="GPUs reserved by each model actor (fractions "
                            "allowed).")
    memory_gb: float | None = Field(None, ge=0, le=MAX_COUNT, description="Memory reserved by each model actor, in "
                                    "GiB (at most 1 TiB).")
    accelerator_type: str | None = Field(
        None, description="Ray accelerator type the actors must run on, e.g. 'A100' or 'L4' (GPU clusters)."
    )


class GenerationSpec(StrictModel):
    max_tokens: int = Field(256, ge=1, le=MAX_TOKENS, description="Most new tokens per generated answer (a benchmark "
                            "may ask fewer).")
    temperature: float = Field(0.0, ge=0, le=100, description="Sampling temperature; 0 means greedy decoding.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling probability mass.")
    seed: int | None = Field(0, ge=0, le=2**63 - 1, description="Sampling seed, for reproducible sampled "
                             "generations.")
    stop: list[str] = Field(default_factory=list, max_length=64, description="Extra stop strings added to each "
                            "benchmark's own.")


class AutoscalingSpec(StrictModel):
    min_replicas: int = Field(1, ge=0, le=MAX_COUNT, description="serve: fewest replicas the autoscaler keeps.")
    max_replicas: int = Field(1, ge=1, le=MAX_COUNT, description="serve: most replicas the autoscaler starts.")
    target_ongoing_requests: float = Field(
        2.0, gt=0, le=1_000_000, description="serve: requests in flight per replica the autoscaler aims for."
    )


class ServingSpec(StrictModel):
    engine: Literal["auto", "vllm", "hf"] = Field(
        "auto",
        description="serve: what runs inside the deployment; vllm = Ray Serve LLM (build_openai_app), hf = evalray's "
        "OpenAI-compatible deployment around the hf backend; auto = vllm when vLLM is installed and the model has GPUs.",
    )
    app_name: str | None = Field(None, description="serve: Ray Serve application name; default: evalray-<model name>.")
    route_prefix: str | None = Field(None, description="serve: HTTP route prefix; default: /<app name>.")
    host: str = Field("127.0.0.1", description="serve: HTTP host of the Serve proxy when evalray starts Serve.")
    port: int = Field(8000, ge=1, le=65535, description="serve: HTTP port of the Serve proxy when evalray starts Serve.")
    autoscaling: AutoscalingSpec | None = Field(
        None, description="serve: autoscale between min and max replicas instead of a fixed `replicas`."
    )
    max_ongoing_requests: int = Field(32, ge=1, le=1_000_000, description="serve: requests a replica accepts at "
                                      "once.")
    startup_timeout_s: float = Field(
        900.0, gt=0, le=MAX_TIMEOUT_S, description="serve: how long to wait for the deployment to become healthy."
    )


DTYPES = ("auto", "float32", "bfloat16", "float16")


class ModelSpecBase(StrictModel):
    """What every model of a job has, whatever runs it. Each backend's spec adds its own options."""

    name: SafeName = Field(..., description="Name of the model in results and reports (letters, digits and "
                           ". _ - + = @ :; used in paths).")
    backend: str = Field("hf", description="How the model is run: " + " | ".join(BACKENDS) + ".")
    source: str = Field(
        ...,
        description="hf/vllm: checkpoint directory, hub id or 'builtin:tiny-llama'; openai: base URL of the server "
        "(e.g. http://127.0.0.1:8000/v1); replay: JSONL file (or directory of <benchmark>.jsonl) of "
        '{"id": ..., "output": ...} lines; serve: a model source to deploy, or serve://APP_NAME / an http URL to attach; '
        "simulated: any label.",
    )
    replicas: int = Field(1, ge=1, le=MAX_COUNT, description="Number of model actors (engine replicas) in the "
                          "generate stage.")
    resources: Resources = Field(default_factory=Resources, description="Ray resources of each model actor.")
    chat: bool = Field(False, description="Chat model: prompts go through the chat template / chat API.")
    generation: GenerationSpec = Field(default_factory=GenerationSpec, description="Decoding settings.")
    batch_size: int = Field(16, ge=1, le=65_536, description="Requests handed to a model actor at once.")


class LocalWeightsOptions(StrictModel):
    """Options of a backend that loads a checkpoint itself (hf, vllm, and serve when it deploys)."""

    max_length: int | None = Field(
        None, ge=8, le=MAX_TOKENS, description="Context length in tokens; default: the model's own maximum."
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype: auto (the checkpoint's), float32, bfloat16 or float16.")
    trust_remote_code: bool = Field(False, description="Allow custom model code from the checkpoint.")
    add_bos_token: bool | None = Field(
        None,
        description="Prepend the tokenizer's BOS token to every prompt and log-likelihood context; null = the "
        "tokenizer's own default (as lm-evaluation-harness and vLLM do), true/false force it.",
    )


class ClientOptions(StrictModel):
    """Options of a backend that talks to an OpenAI-compatible server (openai, and serve's client side)."""

    api: Literal["auto", "chat", "completions"] = Field(
        "auto", description="Which endpoint to call; auto = chat/completions for chat models, else completions."
    )
    model_id: str | None = Field(None, description="The model name sent in requests; default: the server's first model.")
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the API key (never written anywhere)."
    )
    concurrency: int = Field(32, ge=1, le=65_536, description="Requests in flight per model actor.")
    timeout_s: float = Field(120.0, gt=0, le=MAX_TIMEOUT_S, description="Timeout of one request, in seconds.")
    max_retries: int = Field(3, ge=0, le=100, description="Retries (with backoff) on 429, 5xx and timeouts.")


ENGINE_DESCRIPTION = ("Engine settings passed to vLLM (tensor_parallel_size, max_model_len, gpu_memory_utilization, "
                      "enable_prefix_caching, ...).")


class HFModelSpec(ModelSpecBase, LocalWeightsOptions):
    """``backend: hf``: a transformers causal LM in each model actor."""

    backend: Literal["hf"] = Field("hf", description="hf: a transformers causal LM on CPU or GPU.")


class VLLMModelSpec(ModelSpecBase, LocalWeightsOptions):
    """``backend: vllm``: vLLM engines through Ray Data LLM."""

    backend: Literal["vllm"] = Field(..., description="vllm: vLLM engines through ray.data.llm.")
    engine: dict[str, Any] = Field(default_factory=dict, description=ENGINE_DESCRIPTION)


class OpenAIModelSpec(ModelSpecBase, ClientOptions):
    """``backend: openai``: any OpenAI-compatible endpoint."""

    backend: Literal["openai"] = Field(..., description="openai: any OpenAI-compatible server.")


class ServeModelSpec(ModelSpecBase, LocalWeightsOptions, ClientOptions):
    """``backend: serve``: deploy the model as a Ray Serve app (or attach to one) and evaluate through its API."""

    backend: Literal["serve"] = Field(..., description="serve: a Ray Serve app that speaks the OpenAI API.")
    engine: dict[str, Any] = Field(default_factory=dict, description="With the vllm engine: " + ENGINE_DESCRIPTION)
    keep: bool = Field(False, description="Keep the deployment running after the job.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="How evalray deploys the model.")


class ReplayModelSpec(ModelSpecBase):
    """``backend: replay``: recorded outputs re-scored without a model."""

    backend: Literal["replay"] = Field(..., description="replay: recorded outputs from a JSONL file.")


class SimulatedModelSpec(ModelSpecBase):
    """``backend: simulated``: a stand-in engine with a fixed service time per batch, for scaling measurements."""

    backend: Literal["simulated"] = Field(..., description="simulated: fixed-time stand-in engine.")
    service_time_s: float = Field(0.25, ge=0, le=3600, description="Wall time of one batch, whatever it holds "
                                  "(sleeps).")
    answer: str = Field("simulated", description="The text every generation returns.")


MODEL_SPECS: dict[str, type[ModelSpecBase]] = {
    "hf": HFModelSpec, "vllm": VLLMModelSpec, "openai": OpenAIModelSpec, "serve": ServeModelSpec,
    "replay": ReplayModelSpec, "simulated": SimulatedModelSpec,
}
ModelSpec = ModelSpecBase  # the type every model spec is (annotations); parse one with parse_model_spec


def _backend_tag(value: Any) -> str | None:
    backend = value.get("backend", "hf") if isinstance(value, dict) else getattr(value, "backend", None)
    return backend if isinstance(backend, str) and backend in MODEL_SPECS else None


AnyModelSpec = Annotated[
    Union[tuple(Annotated[cls, Tag(name)] for name, cls in MODEL_SPECS.items())],  # type: ignore[misc]
    Discriminator(
        _backend_tag,
        custom_error_type="unknown_backend",
        custom_error_message="unknown backend",
    ),
]
_MODEL_ADAPTER: TypeAdapter = TypeAdapter(AnyModelSpec)


def parse_model_spec(data: str | dict[str, Any] | ModelSpecBase) -> ModelSpecBase:
    """A model spec of the right backend type from JSON, a dict or another spec (re-validated)."""
    if isinstance(data, ModelSpecBase):
        return data
    if isinstance(data, (str, bytes)):
        return _MODEL_ADAPTER.validate_json(data)
    return _MODEL_ADAPTER.validate_python(data)


def unknown_backend_message(value: Any) -> str:
    backend = str(value.get("backend")) if isinstance(value, dict) else str(value)
    return (f"unknown backend '{backend}'{did_you_mean(backend, BACKENDS)}; choose one of {', '.join(BACKENDS)}")


class ScoringSpec(StrictModel):
    num_cpus: float = Field(
        1.0, gt=0, le=MAX_COUNT,
        description="CPUs reserved by each scoring task (scoring is CPU-bound Python; fractions allowed).")
    batch_size: int = Field(64, ge=1, le=1_000_000, description="Samples scored per task.")
    in_model_actors: bool | None = Field(
        None, description="Score each batch in the model actor that generated it, with no scoring tasks (saves a "
        "task hop and an Arrow round trip per batch). null (default): for backends that call an endpoint (openai, "
        "replay, simulated), whose actors wait on the network with CPU to spare, unless a benchmark runs code "
        "(humaneval, mbpp: those get scoring tasks with num_cpus). true: for those backends even then. false: never. "
        "Actors that host weights (hf, vllm, serve) always leave scoring to tasks.")


class JobSpec(JobBase):
    """``kind: eval``: benchmarks over models."""

    kind: Literal["eval"] = Field("eval", description="Job kind: eval (benchmarks over models).")
    models: list[AnyModelSpec] = Field(..., min_length=1, max_length=256,
                                       description="Models to evaluate; each gets its own actor pool.")
    benchmarks: list[BenchmarkSpec] = Field(..., min_length=1, max_length=1024,
                                            description="Benchmarks to run on every model.")
    scoring: ScoringSpec = Field(default_factory=ScoringSpec, description="The scoring stage's Ray tasks.")
    judges: list[AnyModelSpec] = Field(
        default_factory=list, description="Judge models (any backend), each with its own actor pool, replicas, "
        "resources and concurrency, like models; judged benchmarks (mt_bench, arena_hard, alpaca_eval) need one.")

    @model_validator(mode="after")
    def _unique_names(self) -> "JobSpec":
        for kind, names in (("models", [m.name for m in self.models]), ("benchmarks", [b.name for b in self.benchmarks]),
                            ("judges", [j.name for j in self.judges])):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"{kind}: '{duplicates[0]}' appears twice; names must be unique")
        from evalray.job.judging_checks import check_judging

        check_judging(self)
        return self
