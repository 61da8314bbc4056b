"""Variables (``${name}``) and durations (``250ms``), as scenario files and config files write them.

    render("http://127.0.0.1:${port}/orders/${order_id}", resolve)   → str
    render("${pay.value.amount}", resolve)                            → 42 (the value's own type)
    parse_duration("250ms") → 0.25;  parse_duration(5) → 5.0

A string that is exactly one ``${...}`` becomes the referenced value with its type; anywhere else
the value is inserted as text. ``$${`` writes a literal ``${``. ``${name:-default}`` gives a
default when ``name`` is not set (environment variables, profile variables).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from eventharness.model.durations import seconds_problem

__all__ = ["DURATION_HINT", "Reference", "parse_duration", "references", "render"]

_REF = re.compile(r"\$\$\{|\$\{([^{}]*)\}")
_OPEN = re.compile(r"\$\$\{|\$\{([^{}]*)(\}?)")  # also finds a ``${`` that is never closed
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_HINT = "write a number of seconds or a duration like 250ms, 5s, 2m"


class Reference:
    """One ``${...}``: ``name`` (e.g. ``env.HOME``, ``pay.value.amount``) and an optional
    ``default`` (the text after ``:-``)."""

    __slots__ = ("closed", "default", "name", "text")

    def __init__(self, text: str, *, closed: bool = True) -> None:
        self.text = text
        self.closed = closed
        name, sep, default = text.partition(":-")
        self.name = name.strip()
        self.default: str | None = default if sep else None

    @property
    def head(self) -> str:
        return self.name.partition(".")[0]

    def __repr__(self) -> str:
        return f"${{{self.text}}}" if self.closed else f"${{{self.text}"

    @property
    def problem(self) -> str | None:
        """What is wrong with how it is written (an unclosed ``${``), or None."""
        if self.closed:
            return None
        name = (self.text.split() or ["name"])[0].rstrip("$")
        written = f"${{{self.text.rstrip()}"
        return f"'{written}' has no closing '}}': write ${{{name}}}, or $${{ for a literal ${{"


def references(value: Any) -> list[Reference]:
    """Every ``${...}`` inside ``value`` (strings, and strings nested in lists/mappings)."""
    found: list[Reference] = []
    if isinstance(value, str):
        found.extend(
            Reference(m.group(1), closed=bool(m.group(2)))
            for m in _OPEN.finditer(value)
            if m.group(1) is not None
        )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found.extend(references(key))
            found.extend(references(item))
    elif isinstance(value, list | tuple):
        for item in value:
            found.extend(references(item))
    return found


def render(value: Any, resolve: Callable[[Reference], Any]) -> Any:
    """``value`` with every ``${...}`` replaced by ``resolve(reference)``; recursive.

    Raises ValueError for an unclosed ``${`` (validation reports it earlier, with its line)."""
    if isinstance(value, str):
        if "${" in value:
            for ref in references(value):
                if ref.problem:
                    raise ValueError(ref.problem)
        whole = _REF.fullmatch(value)
        if whole is not None and whole.group(1) is not None:
            return resolve(Reference(whole.group(1)))

        def one(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "${"
            found = resolve(Reference(match.group(1)))
            return found if isinstance(found, str) else _text(found)

        return _REF.sub(one, value)
    if isinstance(value, Mapping):
        return {render(k, resolve): render(v, resolve) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, resolve) for item in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_duration(value: Any, *, allow_zero: bool = False) -> float:
    """Seconds from ``5``, ``2.5``, ``"250ms"``, ``"5s"``, ``"2m"``, ``"1h"``.

    Raises ValueError whose message says what was wrong and how to write it."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{value!r} is not a duration; {DURATION_HINT}")
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match is None or value.strip() != value:
            raise ValueError(f"{value!r} is not a duration; {DURATION_HINT} (no spaces)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        seconds = float(value)
    problem = seconds_problem(seconds, allow_zero=allow_zero)
    if problem == "not finite":
        raise ValueError(f"{value!r} is not a finite duration; {DURATION_HINT}")
    if problem is not None:
        raise ValueError(f"{value!r} is not a positive duration; {DURATION_HINT}")
    return seconds
