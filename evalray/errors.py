"""Errors that the CLI turns into one clear line and a non-zero exit code."""

from __future__ import annotations


class EvalrayError(Exception):
    """A user-facing error: the message is printed as one line, without a traceback."""

    exit_code = 1


class ConfigError(EvalrayError):
    """A bad job file, option or override (exit code 2)."""

    exit_code = 2


class BackendError(EvalrayError):
    """A model backend cannot serve the request (unreachable server, unsupported feature)."""

    exit_code = 1


class PartialRun(EvalrayError):
    """A run that finished with some samples errored or missing (exit code 3, unless --allow-partial)."""

    exit_code = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that a run stops the same way as on Ctrl-C."""

    exit_code = 143


class StoppedRun(EvalrayError):
    """A run stopped by Ctrl-C (exit code 130) or SIGTERM (143) after writing what it had."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean 'x'?)' for the closest option, or ''."""
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_SECRET_PATTERNS = (
    r"(?i)\b(bearer|basic|token|authorization)(\s*[:=]?\s*)[A-Za-z0-9._~+/=-]{8,}",  # Authorization headers
    r"(?i)\b(api[_-]?key|access[_-]?key|secret|password|passwd|token)(\"?\s*[:=]\s*\"?)[^\s\"',;&]{4,}",
    r"\b(sk|pk|rk|ghp|gho|ghs|glpat|xox[abprs]|hf|AKIA|ASIA)[-_][A-Za-z0-9_-]{8,}",  # well-known key prefixes
    r"\bAKIA[A-Z0-9]{16}\b",
    r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{5,}",  # JWTs
    r"\b[0-9a-fA-F]{32,}\b",  # long hex tokens
    r"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/_-]*[0-9])(?=[A-Za-z0-9+/_-]*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}",  # base64-ish
)


def redact(text: str) -> str:
    """``text`` with anything that looks like a credential (Bearer/Basic values, ``sk-...`` and other well-known key
    prefixes, ``key=...`` assignments, JWTs, long hex or base64 tokens) replaced by ``***``; for error bodies from
    servers, before they are stored or shown."""
    import re

    for pattern in _SECRET_PATTERNS:
        compiled = re.compile(pattern)
        if compiled.groups >= 2:
            text = compiled.sub(lambda m: m.group(1) + m.group(2) + "***", text)
        else:
            text = compiled.sub("***", text)
    return text
