"""Prompt templates of your own datasets (``template:`` of a ``type: general_*`` benchmark entry).

A template is Python ``str.format`` (``"Q: {question}"``) unless it holds ``{{`` or ``{%``, then Jinja2
(``"{{ question }}"``, with ``StrictUndefined``: a field the row lacks is an error, never an empty string).
"""

from __future__ import annotations

import string
from functools import lru_cache
from typing import Any


def is_jinja(template: str) -> bool:
    return "{{" in template or "{%" in template


@lru_cache(maxsize=64)
def _jinja(template: str):
    import jinja2

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return environment, environment.from_string(template)


def fields(template: str) -> tuple[str, ...]:
    """The names a template refers to (top-level: ``{row.x}`` and ``{{ row.x }}`` refer to ``row``)."""
    if is_jinja(template):
        from jinja2 import meta

        environment, _ = _jinja(template)
        return tuple(sorted(meta.find_undeclared_variables(environment.parse(template))))
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            head = name.split(".")[0].split("[")[0]
            if not head or head.isdigit():
                raise ValueError("positional fields ({} or {0}) are not allowed; name them: {question}")
            names.append(head)
    return tuple(sorted(set(names)))


def check_template(template: str) -> str | None:
    """Why the template cannot be used, or None."""
    try:
        fields(template)
        if is_jinja(template):
            _jinja(template)
    except ValueError as exc:
        return f"not a valid str.format template ({exc}); write literal braces as {{{{ }}}} or use Jinja2"
    except Exception as exc:  # jinja2.TemplateSyntaxError
        return f"not a valid Jinja2 template ({exc})"
    return None


def render(template: str, values: dict[str, Any]) -> str:
    """The template filled with ``values``; a missing field raises KeyError naming it."""
    if is_jinja(template):
        import jinja2

        try:
            return _jinja(template)[1].render(**values)
        except jinja2.UndefinedError as exc:
            raise KeyError(str(exc)) from None
    return template.format_map(values)
