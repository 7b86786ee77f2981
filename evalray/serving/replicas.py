"""How many replicas a Serve deployment gets, shared by both app builders (Ray Serve LLM and the ``hf`` app)."""

from __future__ import annotations

from typing import Any

from evalray.job.spec import ModelSpec


def replica_settings(spec: ModelSpec) -> dict[str, Any]:
    """Serve deployment options for the replica count: an autoscaling config when one is set, else ``replicas``."""
    scaling = spec.serving.autoscaling
    if scaling:
        return {"autoscaling_config": {"min_replicas": scaling.min_replicas, "max_replicas": scaling.max_replicas,
                                       "target_ongoing_requests": scaling.target_ongoing_requests}}
    return {"num_replicas": spec.replicas}
