"""KubeRay CRD schemas prepared for offline validation.

The ``openAPIV3Schema`` of each served CRD version is turned into a strict JSON schema the way the API server would
treat a ``kubectl apply --validate=strict``: objects that list ``properties`` and neither allow
``additionalProperties`` nor ``x-kubernetes-preserve-unknown-fields`` forbid unknown fields, ``nullable`` allows null,
``x-kubernetes-int-or-string`` accepts both, ``format: int32/int64`` bounds integers, and the top-level ``metadata``
(left open by controller-gen) gets a small ObjectMeta schema. :func:`apply_defaults` applies the schema defaults first
(and drops nulls that are not ``nullable``), as the API server does before validating. CEL rules
(``x-kubernetes-validations``) are not evaluated.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from evalray.errors import EvalrayError

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are 75k lines: libyaml is 10x faster
CRD_FILES = ("ray.io_rayclusters.yaml", "ray.io_rayjobs.yaml", "ray.io_rayservices.yaml", "ray.io_raycronjobs.yaml")
CRD_ENV = "EVALRAY_KUBERAY_CRDS"
_INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63, "pattern": _DNS_LABEL},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
    },
    "anyOf": [{"required": ["name"]}, {"required": ["generateName"]}],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class CrdSchema:
    """The strict validation schema of one served CRD version."""

    api_version: str
    kind: str
    schema: dict[str, Any]


def default_crd_dir() -> Path | None:
    """``$EVALRAY_KUBERAY_CRDS``, else ``../shared/kuberay/crds`` next to the repository or the working directory."""
    if os.environ.get(CRD_ENV):
        return Path(os.environ[CRD_ENV])
    repo = Path(__file__).resolve().parents[2]
    for base in (repo, Path.cwd()):
        candidate = (base / ".." / "shared" / "kuberay" / "crds").resolve()
        if candidate.is_dir():
            return candidate
    return None


def resolve_crd_dir(crd_dir: str | Path | None) -> Path:
    path = Path(crd_dir) if crd_dir else default_crd_dir()
    if path is None or not path.is_dir():
        where = f"{path}" if path else f"--crds DIR or ${CRD_ENV}"
        raise EvalrayError(f"KubeRay CRD directory not found ({where}); point --crds at a folder with ray.io_*.yaml")
    if not any((path / name).is_file() for name in CRD_FILES):
        raise EvalrayError(f"{path}: no KubeRay CRD files ({', '.join(CRD_FILES)})")
    return path.resolve()


@lru_cache(maxsize=4)
def load_schemas(crd_dir: str) -> dict[tuple[str, str], CrdSchema]:
    """Strict schemas keyed by (apiVersion, kind), for every served version of every CRD in ``crd_dir``."""
    schemas: dict[tuple[str, str], CrdSchema] = {}
    for name in CRD_FILES:
        path = Path(crd_dir) / name
        if not path.is_file():
            continue
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
        spec = crd["spec"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            api_version = f"{spec['group']}/{version['name']}"
            raw = version["schema"]["openAPIV3Schema"]
            schemas[(api_version, spec["names"]["kind"])] = CrdSchema(api_version, spec["names"]["kind"], strict_schema(raw))
    return schemas


def strict_schema(raw: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a CRD's root schema, made strict (see the module doc)."""
    schema = _strict(copy.deepcopy(raw))
    props = schema.setdefault("properties", {})
    props["metadata"] = copy.deepcopy(OBJECT_META_SCHEMA)
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
    props.pop("status", None)  # status is written by the operator, never by a manifest
    return schema


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    for key in ("properties", "patternProperties"):
        if isinstance(node.get(key), dict):
            node[key] = {name: _strict(sub) for name, sub in node[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            node[key] = _strict(node[key])
    for key in ("anyOf", "allOf", "oneOf"):
        if isinstance(node.get(key), list):
            node[key] = _strict(node[key])
    open_object = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
    if "properties" in node and not open_object:
        node["additionalProperties"] = False
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node:
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        node.pop("type", None)
    bounds = _INT_BOUNDS.get(node.get("format", "")) if node.get("type") == "integer" else None
    if bounds:
        node["minimum"] = max(node.get("minimum", bounds[0]), bounds[0])
        node["maximum"] = min(node.get("maximum", bounds[1]), bounds[1])
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    return node


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """Return ``value`` with schema defaults filled in and non-nullable nulls dropped (the API server's order)."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            sub = props.get(key)
            if item is None and isinstance(sub, dict) and not sub.get("nullable") and "default" not in sub:
                continue
            out[key] = item
        for key, sub in props.items():
            if isinstance(sub, dict) and "default" in sub and out.get(key) is None:
                out[key] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for key, item in out.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if isinstance(sub, dict):
                out[key] = apply_defaults(item, sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value
