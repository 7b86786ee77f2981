"""Load a job file: YAML -> ``-S`` overrides -> ``${VAR}`` interpolation -> pydantic validation.

Every problem becomes a :class:`ConfigError` whose message is one line naming the file, the key path and the problem.
A job file is bounded before anything is built from it: at most :data:`MAX_JOB_BYTES`, UTF-8, at most
:data:`MAX_ALIASES` YAML aliases and :data:`MAX_DEPTH` levels of nesting (checked on the parser's event stream, which
never recurses or expands anything), and at most :data:`MAX_NODES` values once aliases are counted as copies (what
``${...}`` interpolation would walk), so an alias bomb is refused in milliseconds.
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
MAX_JOB_BYTES = 1024 * 1024
MAX_ALIASES = 100
MAX_DEPTH = 32
MAX_NODES = 100_000
_SHOWN = 80  # characters of a bad value quoted in an error
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: fast, same safe schema


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = _read_text(path)
    try:
        _check_structure(text, path)
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: YAML syntax error{where}: {_short(problem)}") from None
    except (RecursionError, ValueError, OverflowError) as exc:  # e.g. an out-of-range timestamp
        raise ConfigError(f"{path}: YAML error: {_short(str(exc) or type(exc).__name__)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a job file must be a mapping of keys to values")
    _check_size(data, path)
    return data


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(f"{path}: no such job file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_JOB_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the job file ({exc.strerror or exc})") from None
    if len(raw) > MAX_JOB_BYTES:
        raise ConfigError(f"{path}: job file larger than {MAX_JOB_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ConfigError(f"{path}: the job file contains a NUL character")
    return text


def _check_structure(text: str, path: Path) -> None:
    """Bound aliases and nesting on the parser's events, before anything is composed or constructed."""
    aliases = depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(f"{path}: more than {MAX_ALIASES} YAML aliases")
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(f"{path}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _check_size(data: Any, path: Path) -> None:
    """Count the values as interpolation would visit them (an alias is a copy), stopping at :data:`MAX_NODES`."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ConfigError(f"{path}: more than {MAX_NODES:,} values (YAML aliases count once per use)")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 200 else text[:200] + "..."


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
    loc = [_short(str(p))[:_SHOWN] for p in raw_loc]
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
    msg = _short(err["msg"].removeprefix("Value error, "))
    if kind not in ("value_error", "assertion_error") and "input" in err and not isinstance(err["input"], (dict, list)):
        shown = repr(err["input"])
        msg += f" (got {shown if len(shown) <= _SHOWN else shown[:_SHOWN] + '...'})"
    return f"{_short(where)}: {msg}"


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
    if not isinstance(kind, str):
        raise ConfigError(f"{origin}: kind: expected a job kind such as eval, perf or embed (got {_short(repr(kind))[:_SHOWN]})")
    kinds: dict[str, type[BaseModel]] = {"eval": JobSpec}
    try:
        from evalray.job.perf_spec import PerfJobSpec  # optional: the perf job kind

        kinds["perf"] = PerfJobSpec
    except ImportError:
        pass
    from evalray.job.embed_spec import EmbedJobSpec  # embedding models and rerankers

    kinds["embed"] = EmbedJobSpec
    from evalray.job.opencompass_spec import OpenCompassJobSpec  # OpenCompass itself, in its own environment

    kinds["opencompass"] = OpenCompassJobSpec
    if kind not in kinds:
        raise ConfigError(f"{origin}: kind: unknown job kind '{_short(kind)[:_SHOWN]}'"
                          f"{did_you_mean(kind[:_SHOWN], list(kinds))}")
    return kinds[kind]


def public_job_dict(job: BaseModel) -> dict[str, Any]:
    """The resolved job as a dict with secrets removed (API keys are only ever named, never stored)."""
    data = job.model_dump(mode="json")
    env = (data.get("runtime_env") or {}).get("env_vars")
    if isinstance(env, dict):
        data["runtime_env"]["env_vars"] = {k: "***" for k in env}
    return data
