"""Load a job file: YAML -> ``-S`` overrides -> ``${VAR}`` interpolation -> pydantic validation.

Every problem becomes a :class:`ConfigError` whose message is one line naming the file, the key path and the problem.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evalray.errors import ConfigError, did_you_mean
from evalray.job.spec import MODEL_SPECS, JobSpec, unknown_backend_message

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such job file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a job file must be a mapping of keys to values")
    return data


def apply_override(data: dict[str, Any], assignment: str, source: str = "-S") -> None:
    """Apply one ``dotted.path=value`` override; the value is parsed as YAML (``4`` -> int, ``[a,b]`` -> list)."""
    if "=" not in assignment:
        raise ConfigError(f"{source} {assignment}: expected KEY=VALUE, e.g. models.0.replicas=4")
    key, raw = assignment.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"{source} {assignment}: empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"{source} {assignment}: '{where}' is not an index of a list of {len(node)}")
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise ConfigError(f"{source} {assignment}: '{'.'.join(parts[:i])}' is not a mapping")


def interpolate(value: Any, scope: dict[str, Any], path: str = "") -> Any:
    """Replace ``${NAME}`` (a top-level job key such as ``name``, else an environment variable) and ``${NAME:-default}``."""
    if isinstance(value, dict):
        return {k: interpolate(v, scope, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, scope, f"{path}.{i}") for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in scope and isinstance(scope[name], (str, int, float)):
            return str(scope[name])
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: ${{{name}}} is neither a job key nor a set environment variable")

    return _VAR.sub(replace, value)


def format_validation_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """The first pydantic error as 'key.path: problem', with did-you-mean for unknown keys."""
    err = exc.errors()[0]
    raw_loc, backend = _strip_backend_tags(tuple(err["loc"]))
    loc = [str(p) for p in raw_loc]
    where = ".".join(loc) or "(top level)"
    kind = err["type"]
    if kind == "unknown_backend":
        return f"{where}.backend: {unknown_backend_message(err.get('input'))}"
    if kind == "extra_forbidden":
        if backend is not None:
            owners = [name for name, cls in MODEL_SPECS.items() if loc[-1] in cls.model_fields]
            if owners:
                return f"{where}: backend '{backend}' has no option '{loc[-1]}' (an option of {', '.join(owners)})"
            parent = _model_at(MODEL_SPECS[backend], raw_loc[2:-1]) if len(raw_loc) > 2 else MODEL_SPECS[backend]
        else:
            parent = _model_at(model, raw_loc[:-1])
        options = list(parent.model_fields) if parent else []
        hint = did_you_mean(loc[-1], options)
        return f"{where}: unknown key '{loc[-1]}'{hint}"
    if kind == "missing":
        return f"{where}: required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    if kind not in ("value_error", "assertion_error") and "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return f"{where}: {msg}"


def _strip_backend_tags(loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str | None]:
    """Drop the union tag pydantic puts in the location of a model's error (``models.0.openai.dtype``), and say
    which backend's spec it was."""
    for i in range(2, len(loc)):
        if loc[i - 2] == "models" and isinstance(loc[i - 1], int) and loc[i] in MODEL_SPECS:
            return loc[:i] + loc[i + 1:], str(loc[i])
    return loc, None


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Walk a pydantic model class along a location path (skipping list indices)."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if isinstance(current, type) else None
        if field is None:
            return None
        annotation = field.annotation
        for candidate in (annotation, *typing.get_args(annotation)):
            inner = typing.get_args(candidate) if typing.get_origin(candidate) is list else (candidate,)
            found = next((c for c in inner if isinstance(c, type) and issubclass(c, BaseModel)), None)
            if found:
                current = found
                break
        else:
            return None
    return current if isinstance(current, type) else None


def load_job(path: str | Path, overrides: list[str] | None = None) -> JobSpec:
    data = read_yaml(path)
    for assignment in overrides or []:
        apply_override(data, assignment)
    return build_job(data, str(path))


def build_job(data: dict[str, Any], origin: str = "job") -> JobSpec:
    kind = data.get("kind", "eval")
    data = {**data, "output": data.get("output") or "runs/${name}"}  # the default is interpolated like a given one
    try:
        data = interpolate(data, {k: v for k, v in data.items() if not isinstance(v, (dict, list))})
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    spec_class = _spec_class(kind, origin)
    try:
        return spec_class.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: {format_validation_error(exc, spec_class)}") from None


def _spec_class(kind: Any, origin: str) -> type[BaseModel]:
    kinds: dict[str, type[BaseModel]] = {"eval": JobSpec}
    try:
        from evalray.job.perf_spec import PerfJobSpec  # optional: the perf job kind

        kinds["perf"] = PerfJobSpec
    except ImportError:
        pass
    if kind not in kinds:
        raise ConfigError(f"{origin}: kind: unknown job kind '{kind}'{did_you_mean(str(kind), list(kinds))}")
    return kinds[kind]


def public_job_dict(job: BaseModel) -> dict[str, Any]:
    """The resolved job as a dict with secrets removed (API keys are only ever named, never stored)."""
    data = job.model_dump(mode="json")
    env = (data.get("runtime_env") or {}).get("env_vars")
    if isinstance(env, dict):
        data["runtime_env"]["env_vars"] = {k: "***" for k in env}
    return data
