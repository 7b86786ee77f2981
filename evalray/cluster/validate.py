"""Offline validation of KubeRay manifests: CRD schemas (defaults applied, unknown fields forbidden), the embedded
``runtimeEnvYAML`` and ``serveConfigV2`` strings, and a few operator rules the schemas cannot express.

Usable from tests (:func:`validate_text`, :func:`validate_file`) and as ``evalray kuberay validate FILE...``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from evalray.cluster import crd, rules
from evalray.errors import did_you_mean

_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}

CONFIGMAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "properties": {
        "apiVersion": {"enum": ["v1"]},
        "kind": {"enum": ["ConfigMap", "Secret"]},
        "metadata": crd.OBJECT_META_SCHEMA,
        "data": {"type": "object", "additionalProperties": {"type": "string"}},
        "binaryData": {"type": "object", "additionalProperties": {"type": "string"}},
        "stringData": {"type": "object", "additionalProperties": {"type": "string"}},
        "type": {"type": "string"},
        "immutable": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Problem:
    """One validation failure: where (source, document, object, field path) and what."""

    source: str
    document: int
    obj: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.source}: {self.obj}: {where}{self.message}"


def validate_file(path: str | Path, crd_dir: str | Path | None = None) -> list[Problem]:
    path = Path(path)
    return validate_text(path.read_text(encoding="utf-8"), str(path), crd_dir)


def validate_text(text: str, source: str = "<manifest>", crd_dir: str | Path | None = None) -> list[Problem]:
    """Validate every document of a (multi-document) YAML manifest; an empty list means it is valid."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return [Problem(source, 0, "(yaml)", "", f"{where}YAML syntax error: {getattr(exc, 'problem', exc)}")]
    if not documents:
        return [Problem(source, 0, "(yaml)", "", "no Kubernetes objects in the file")]
    return validate_documents(documents, source, crd_dir)


def validate_documents(documents: Iterable[Any], source: str, crd_dir: str | Path | None = None) -> list[Problem]:
    schemas = crd.load_schemas(str(crd.resolve_crd_dir(crd_dir)))
    problems: list[Problem] = []
    for index, doc in enumerate(documents):
        problems.extend(validate_object(doc, schemas, source, index))
    return problems


def validate_object(
    doc: Any, schemas: dict[tuple[str, str], crd.CrdSchema], source: str = "<manifest>", index: int = 0
) -> list[Problem]:
    """Schema errors first; the embedded-string and operator rules only run on a schema-valid object."""
    if not isinstance(doc, dict):
        return [Problem(source, index, f"document {index}", "", "a Kubernetes object must be a mapping")]
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    obj = f"{kind}/{(doc.get('metadata') or {}).get('name', '?') if isinstance(doc.get('metadata'), dict) else '?'}"
    entry = schemas.get((str(api_version), str(kind)))
    if entry is not None:
        schema = entry.schema
        doc = crd.apply_defaults(doc, schema)
    elif api_version == "v1" and kind in ("ConfigMap", "Secret"):
        schema = CONFIGMAP_SCHEMA
    else:
        known = sorted({f"{a} {k}" for a, k in schemas} | {"v1 ConfigMap", "v1 Secret"})
        return [Problem(source, index, obj, "", f"no schema for apiVersion '{api_version}' kind '{kind}' "
                        f"(known: {', '.join(known)})")]
    problems = [Problem(source, index, obj, path, message) for path, message in schema_errors(doc, schema)]
    if not problems:
        problems = [Problem(source, index, obj, path, message) for path, message in rules.check(doc)]
    return problems


def schema_errors(doc: Any, schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, message) for every schema violation, sorted by path."""
    validator = Draft4Validator(schema)
    found: list[tuple[str, str]] = []
    for error in validator.iter_errors(doc):
        found.extend(_describe(error))
    return sorted(set(found))


def _describe(error: ValidationError) -> Iterator[tuple[str, str]]:
    path = format_path(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        known = list((error.schema.get("properties") or {}).keys())
        for extra in sorted(set(error.instance) - set(known)):
            yield join_path(path, str(extra)), f"unknown field '{extra}'{did_you_mean(str(extra), known)}"
    elif kind == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        for name in missing:
            yield join_path(path, name), "required field is missing"
    elif kind == "type":
        yield path, f"expected {_expected(error.validator_value)}, got {_type_name(error.instance)} {error.instance!r}"
    elif kind == "anyOf":
        yield path, _any_of_message(error)
    elif kind == "enum":
        options = ", ".join(repr(v) for v in error.validator_value)
        yield path, f"{error.instance!r} is not one of {options}"
    elif kind == "pattern" and "KMGTPE" in str(error.validator_value):
        yield path, f"{error.instance!r} is not a Kubernetes quantity (e.g. 500m, 2, 16Gi)"
    elif kind == "pattern":
        yield path, f"{error.instance!r} does not match the pattern {error.validator_value}"
    else:
        yield path, error.message


def _any_of_message(error: ValidationError) -> str:
    branches = error.validator_value
    if all(set(b) == {"required"} for b in branches):
        names = " or ".join(f"'{b['required'][0]}'" for b in branches)
        return f"required field {names} is missing"
    types = [b.get("type") for b in branches if "type" in b]
    if types:
        return f"expected {_expected(types)}, got {_type_name(error.instance)} {error.instance!r}"
    return error.message


def _expected(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def _type_name(value: Any) -> str:
    return "null" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)


def format_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else join_path(out, str(part))
    return out


def join_path(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name
