"""Matcher helpers for bodies a consumer declares: each gives the example and the rule at its path.

    body = {"order_id": like("o-1"), "amount": number(42), "lines": each_like({"sku": like("A")}),
            "shipment_id": regex(r"shp-[0-9a-f]{12}", "shp-0123456789ab")}
    example, rules = reify(body)
    # example: {"order_id": "o-1", "amount": 42, "lines": [{"sku": "A"}], ...}
    # rules:   {"$.order_id": [type], "$.amount": [number], "$.lines": [type min 1],
    #           "$.lines[*].sku": [type], "$.shipment_id": [regex ...]}

A :class:`Term` is a value placed in a body; :func:`reify` walks the body once and returns the
plain example and the path-keyed matcher JSON, written as the Pact specification writes it (the
items of an ``each_like`` list are addressed ``[*]``). A helper whose example does not satisfy its
own rule (a regex, a date format) raises :class:`ContractError` at once, where it is written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventharness.contracts import datetimes
from eventharness.contracts.matchers import full_match
from eventharness.engine.matchers import regex_problem
from eventharness.model.errors import ContractError

__all__ = [
    "UUID_REGEX",
    "Term",
    "boolean",
    "date",
    "datetime",
    "decimal",
    "each_like",
    "equal",
    "include",
    "integer",
    "like",
    "not_empty",
    "null",
    "number",
    "path_expression",
    "regex",
    "reify",
    "semver",
    "time",
    "uuid",
]

UUID_REGEX = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SEMVER = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Term:
    """A value in a declared body: its ``example`` (which may hold further terms), the matcher
    objects (Pact JSON) that apply at its path, and whether its items are one pattern (``[*]``)."""

    example: Any
    matchers: tuple[Mapping[str, Any], ...]
    each_item: bool = False
    generator: Mapping[str, Any] | None = field(default=None)


def like(example: Any) -> Term:
    """Any value of the example's JSON type (``type``); maps and lists cascade to their items."""
    return Term(example, ({"match": "type"},))


def each_like(example: Any, *, min: int = 1, max: int | None = None) -> Term:
    """A list whose every item is like ``example``, at least ``min`` (and at most ``max``) items."""
    if min < 0 or (max is not None and max < min):
        raise ContractError(f"each_like: expected 0 <= min <= max, got min={min}, max={max}")
    rule: dict[str, Any] = {"match": "type", "min": min}
    if max is not None:
        rule["max"] = max
    return Term([example] * builtin_max(min, 1), (rule,), each_item=True)


builtin_max = max


def equal(example: Any) -> Term:
    """Exactly the example (``equality``), e.g. to stop a ``like`` above from cascading here."""
    return Term(example, ({"match": "equality"},))


def regex(pattern: str, example: str) -> Term:
    """A string matching ``pattern`` in full; ``example`` must match it too."""
    problem = regex_problem(pattern)
    if problem:
        raise ContractError(f"regex({pattern!r}, ...): {problem}")
    if not isinstance(example, str) or not full_match(pattern, example):
        raise ContractError(f"regex({pattern!r}, {example!r}): the example does not match")
    return Term(example, ({"match": "regex", "regex": pattern},))


def integer(example: int = 1) -> Term:
    """Any integer."""
    _typed("integer", example, int)
    return Term(example, ({"match": "integer"},))


def decimal(example: float = 1.5) -> Term:
    """Any number with a fractional part (Pact's ``decimal``)."""
    _typed("decimal", example, float)
    return Term(example, ({"match": "decimal"},))


def number(example: float = 1) -> Term:
    """Any number, integer or decimal."""
    _typed("number", example, int | float)
    return Term(example, ({"match": "number"},))


def boolean(example: bool = True) -> Term:
    """``true`` or ``false``."""
    _typed("boolean", example, bool)
    return Term(example, ({"match": "boolean"},))


def null() -> Term:
    """``null`` only."""
    return Term(None, ({"match": "null"},))


def include(value: str, example: str | None = None) -> Term:
    """A string containing ``value`` (the example defaults to ``value`` itself)."""
    shown = value if example is None else example
    if value not in shown:
        raise ContractError(f"include({value!r}, {shown!r}): the example does not contain it")
    return Term(shown, ({"match": "include", "value": value},))


def not_empty(example: Any) -> Term:
    """Present and not empty (no null, empty string, list or map), of any type: Pact's
    ``notEmpty``, which does not compare types."""
    if example in ("", [], {}):
        raise ContractError("not_empty(...): the example itself is empty")
    return Term(example, ({"match": "notEmpty"},))


def semver(example: str = "1.0.0") -> Term:
    """A semantic version (``1.2.3``)."""
    if not re.fullmatch(_SEMVER, example):
        raise ContractError(f"semver({example!r}): not a semantic version")
    return Term(example, ({"match": "semver"},))


def uuid(example: str = "ba4a2cdd-39b3-4b3c-9e56-4bc3a1d9a0c1") -> Term:
    """A lower-case hyphenated UUID (a ``regex`` rule, as Pact writes one)."""
    return regex(UUID_REGEX, example)


def datetime(format: str, example: str) -> Term:
    """A date-time in ``format`` (Pact's Java-style pattern, e.g. ``yyyy-MM-dd'T'HH:mm:ssXXX``)."""
    return _dated("datetime", format, example)


def date(format: str, example: str) -> Term:
    """A date in ``format`` (e.g. ``yyyy-MM-dd``)."""
    return _dated("date", format, example)


def time(format: str, example: str) -> Term:
    """A time of day in ``format`` (e.g. ``HH:mm:ss``)."""
    return _dated("time", format, example)


def _dated(kind: str, pattern: str, example: str) -> Term:
    try:
        datetimes.parse_format(pattern)
    except ValueError as exc:
        raise ContractError(f"{kind}({pattern!r}, ...): {exc}") from None
    problem = datetimes.validate(kind, example, pattern)
    if problem:
        raise ContractError(f"{kind}({pattern!r}, {example!r}): {problem}")
    return Term(example, ({"match": kind, "format": pattern},))


def _typed(name: str, example: Any, kind: Any) -> None:
    if not isinstance(example, kind) or (name != "boolean" and isinstance(example, bool)):
        raise ContractError(f"{name}({example!r}): the example is not a {name}")


# -- reification ------------------------------------------------------------------------------


def path_expression(steps: Sequence[str | int]) -> str:
    """``$.a['b-c'][*].d`` for the steps ``a``, ``b-c``, ``*`` (an item pattern), ``d``."""
    out = "$"
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step == "*":
            out += "[*]"
        elif _IDENT.match(step):
            out += "." + step
        else:
            out += "['" + step.replace("'", "\\'") + "']"
    return out


def reify(body: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The plain example of ``body``, its matching rules (path → ``{"combine", "matchers"}``)
    and generators (path → generator JSON), in the order the body declares them."""
    rules: dict[str, Any] = {}
    generators: dict[str, Any] = {}

    def walk(value: Any, steps: list[str | int]) -> Any:
        if isinstance(value, Term):
            path = path_expression(steps)
            rules[path] = {"combine": "AND", "matchers": [dict(m) for m in value.matchers]}
            if value.generator is not None:
                generators[path] = dict(value.generator)
            if value.each_item and isinstance(value.example, list):
                return [walk(item, [*steps, "*"]) for item in value.example]
            return walk(value.example, steps)
        if isinstance(value, Mapping):
            return {str(k): walk(v, [*steps, str(k)]) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(item, [*steps, i]) for i, item in enumerate(value)]
        return value

    example = walk(body, [])
    return example, rules, generators
