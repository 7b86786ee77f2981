"""``kind: opencompass`` jobs: OpenCompass itself (its dataset configs, prompts, postprocessors and evaluators) run
against each model's OpenAI-compatible endpoint, each (model, dataset config) as a Ray task in OpenCompass's own
isolated environment (:mod:`evalray.pipeline.opencompass_env`), its scores converted into ``result.json`` rows.

A model is an ``openai`` spec (any URL, e.g. ``evalray mock-server``) or a ``serve`` spec (evalray deploys the model
with Ray Serve, or attaches to a running app, and OpenCompass talks to its URL).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from evalray.job.base import MAX_COUNT, JobBase, StrictModel
from evalray.job.spec import MAX_TIMEOUT_S, AnyModelSpec

OPENCOMPASS_MODEL_BACKENDS = ("openai", "serve")
_CONFIG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,127}$")


class OpenCompassSpec(StrictModel):
    """What OpenCompass runs (``opencompass:`` of a ``kind: opencompass`` job)."""

    datasets: list[str] = Field(
        ..., min_length=1, max_length=256, description="OpenCompass dataset config names, as its CLI's --datasets "
        "takes them (e.g. siqa_gen, obqa_gen, piqa_gen, or a versioned one such as siqa_gen_18632c); each config runs "
        "as one Ray task, and a config that holds several datasets (obqa_gen: openbookqa, openbookqa_fact) yields "
        "one benchmark per dataset.")
    data_dir: str | None = Field(
        None, description="The OpenCompass data bundle (the folder holding siqa/, openbookqa/, SuperGLUE/, ...), e.g. "
        "../shared/data/opencompass/data; default: OpenCompass's own lookup (./data, then its download).")
    limit: int | None = Field(None, ge=1, le=100_000_000, description="Only the first N test items of each dataset "
                              "(OpenCompass's reader_cfg test_range '[0:N]').")
    max_out_len: int = Field(256, ge=1, le=1_000_000, description="Most new tokens per answer (OpenCompass's "
                             "max_out_len of the model).")
    max_seq_len: int = Field(4096, ge=16, le=10_000_000, description="Context length OpenCompass assumes for the "
                             "model (it shortens max_out_len to fit the prompt).")
    batch_size: int = Field(8, ge=1, le=65_536, description="Prompts OpenCompass sends at once (its batch_size).")
    query_per_second: float = Field(16.0, gt=0, le=100_000, description="OpenCompass's client rate limit, requests "
                                    "per second.")
    retry: int = Field(2, ge=1, le=100, description="Attempts per request (OpenCompass's retry).")
    tokenizer: str | None = Field(
        None, description="Tokenizer OpenCompass counts prompt tokens with (a tiktoken model name, a local tokenizer "
        "directory or hub id); default: the model's source when it is a local directory, else evalray's "
        "builtin:tiny-llama tokenizer (only the length check uses it; prompts are sent as text).")
    num_cpus: float = Field(1.0, gt=0, le=MAX_COUNT, description="CPUs reserved by each OpenCompass Ray task.")
    timeout_s: float = Field(3600.0, gt=0, le=MAX_TIMEOUT_S, description="Wall-time limit of one OpenCompass task.")
    env_dir: str | None = Field(
        None, description="Where the isolated OpenCompass environment is created and cached (one sub-folder per "
        "OpenCompass version); default: $EVALRAY_CACHE/opencompass, else ~/.cache/evalray/opencompass.")
    install_timeout_s: float = Field(1800.0, gt=0, le=MAX_TIMEOUT_S, description="Longest the first install of the "
                                     "environment may take.")

    @field_validator("datasets")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _CONFIG_NAME.match(name):
                raise ValueError(f"'{name[:60]}' is not an OpenCompass dataset config name (such as siqa_gen)")
        duplicates = sorted({n for n in value if value.count(n) > 1})
        if duplicates:
            raise ValueError(f"'{duplicates[0]}' appears twice")
        return value


class OpenCompassJobSpec(JobBase):
    """``kind: opencompass``: OpenCompass's datasets and evaluators against OpenAI-compatible endpoints."""

    kind: Literal["opencompass"] = Field("opencompass", description="Job kind: opencompass (OpenCompass itself, "
                                         "in its own environment, against each model's endpoint).")
    models: list[AnyModelSpec] = Field(
        ..., min_length=1, max_length=256, description="Models to evaluate: backend openai (source: the server's "
        "base URL, e.g. http://127.0.0.1:8000/v1) or serve (deployed by evalray, or attached); chat: true is "
        "implied (OpenCompass calls /chat/completions).")
    opencompass: OpenCompassSpec = Field(..., description="The OpenCompass dataset configs, data and settings.")

    @model_validator(mode="after")
    def _models(self) -> OpenCompassJobSpec:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"models: '{duplicates[0]}' appears twice; names must be unique")
        for model in self.models:
            if model.backend not in OPENCOMPASS_MODEL_BACKENDS:
                raise ValueError(f"models: '{model.name}' has backend {model.backend}; OpenCompass talks to an "
                                 f"endpoint: use backend {' or '.join(OPENCOMPASS_MODEL_BACKENDS)}")
        return self
