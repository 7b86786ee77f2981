"""Driver-side preflight of a backend that loads a checkpoint: a bad path or hub id fails in one line before Ray
starts."""

from __future__ import annotations

import os

from evalray.errors import BackendError
from evalray.job.spec import LocalWeightsOptions, ModelSpecBase


def preflight(spec: ModelSpecBase) -> None:
    from evalray.models.tiny import resolve_source

    source = resolve_source(spec.source)
    if os.path.isdir(source):
        return
    trust = spec.trust_remote_code if isinstance(spec, LocalWeightsOptions) else False
    try:
        from transformers import AutoConfig

        AutoConfig.from_pretrained(source, trust_remote_code=trust)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BackendError(f"model '{spec.name}': cannot load '{spec.source}' ({first})") from None
