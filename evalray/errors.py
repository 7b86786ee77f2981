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


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """Return ' (did you mean 'x'?)' for the closest option, or ''."""
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
