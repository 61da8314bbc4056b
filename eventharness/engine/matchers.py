"""Matching events: by type, subset of the payload, field operators, or a predicate.

The plain-data form is what YAML scenario files use too::

    match={"order_id": "o-1", "total": {"gt": 10}, "lines": [{"sku": "A"}]}
    fields={"key": "o-1", "headers.tenant": {"exists": True}}

``match`` is a subset match on the decoded value: nested mappings match when every expected key
matches; a list matches an equal-length list item by item; a mapping whose keys are all operator
names (``eq ne gt ge lt le regex exists one_of``) is an operator test. ``fields`` takes dotted
paths resolved on the whole event (``key``, ``headers.x``, ``value.a.b``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.model.errors import UsageError
from eventharness.model.events import MISSING, Event, is_missing, lookup

_MISSING_TEXT = "<missing>"


def _compare(op: str, fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(actual: Any, expected: Any) -> bool:
        try:
            return fn(actual, expected)
        except TypeError:
            return False

    test.__name__ = op
    return test


def _regex(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and re.search(expected, actual) is not None


def _one_of(actual: Any, expected: Any) -> bool:
    return actual in expected


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _compare("eq", lambda a, e: a == e),
    "ne": _compare("ne", lambda a, e: a != e),
    "gt": _compare("gt", lambda a, e: a > e),
    "ge": _compare("ge", lambda a, e: a >= e),
    "lt": _compare("lt", lambda a, e: a < e),
    "le": _compare("le", lambda a, e: a <= e),
    "regex": _regex,
    "one_of": _one_of,
}
OPERATOR_NAMES = (*OPERATORS, "exists")


def is_operator(spec: Any) -> bool:
    return isinstance(spec, Mapping) and bool(spec) and all(k in OPERATOR_NAMES for k in spec)


def check_spec(spec: Any, where: str) -> None:
    """Raise UsageError for operator mistakes in a match/fields spec (before anything runs)."""
    if isinstance(spec, Mapping):
        if is_operator(spec):
            for op, arg in spec.items():
                if op == "regex":
                    try:
                        re.compile(arg)
                    except (re.error, TypeError) as exc:
                        raise UsageError(f"{where}: bad regex {arg!r}: {exc}") from exc
                if op == "one_of" and not isinstance(arg, list | tuple | set | frozenset):
                    raise UsageError(f"{where}: one_of needs a list, got {arg!r}")
                if op == "exists" and not isinstance(arg, bool):
                    raise UsageError(f"{where}: exists needs true or false, got {arg!r}")
            return
        for key, sub in spec.items():
            check_spec(sub, f"{where}.{key}")
    elif isinstance(spec, list):
        for i, sub in enumerate(spec):
            check_spec(sub, f"{where}[{i}]")


_SCALARS = (str, int, float, bool, type(None))


def matches_spec(actual: Any, spec: Any) -> bool:
    """``compare(actual, spec, "", None)`` without building paths: the per-event fast path.

    Plain dicts and scalars are tested by exact type (no ABC ``isinstance``, no f-strings);
    anything else (operators, lists, other mappings) falls back to :func:`compare`.
    """
    kind = type(spec)
    if kind in _SCALARS:
        return bool(actual == spec) and (type(actual) is bool) == (kind is bool)
    if kind is dict and type(actual) is dict and not is_operator(spec):
        for key, sub in spec.items():  # noqa: SIM110 - a loop is cheaper than all(genexpr)
            if not matches_spec(actual.get(key, MISSING), sub):
                return False
        return True
    return compare(actual, spec, "", None)


def compare(actual: Any, spec: Any, path: str, diffs: list[str] | None) -> bool:
    """Does ``actual`` satisfy ``spec``? Collect field-level differences in ``diffs``."""
    if is_operator(spec):
        ok = True
        for op, arg in spec.items():
            if op == "exists":
                passed = (not is_missing(actual)) == bool(arg)
            else:
                passed = not is_missing(actual) and OPERATORS[op](actual, arg)
            if not passed:
                ok = False
                if diffs is None:
                    return False
                diffs.append(f"{path}: expected {op} {arg!r}, got {_show(actual)}")
        return ok
    if isinstance(spec, Mapping):
        if not isinstance(actual, Mapping):
            if diffs is not None:
                diffs.append(f"{path}: expected an object, got {_show(actual)}")
            return False
        ok = True
        for key, sub in spec.items():
            found = actual.get(key, MISSING)
            if not compare(found, sub, f"{path}.{key}" if path else str(key), diffs):
                ok = False
                if diffs is None:
                    return False
        return ok
    if isinstance(spec, list):
        if not isinstance(actual, list) or len(actual) != len(spec):
            if diffs is not None:
                diffs.append(f"{path}: expected a list of {len(spec)}, got {_show(actual)}")
            return False
        ok = True
        for i, (item, sub) in enumerate(zip(actual, spec, strict=True)):
            if not compare(item, sub, f"{path}[{i}]", diffs):
                ok = False
                if diffs is None:
                    return False
        return ok
    if is_missing(actual) or actual != spec or isinstance(actual, bool) != isinstance(spec, bool):
        if diffs is not None:
            diffs.append(f"{path}: expected {spec!r}, got {_show(actual)}")
        return False
    return True


def _show(value: Any) -> str:
    if is_missing(value):
        return _MISSING_TEXT
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True, slots=True)
class Matcher:
    """What an expectation looks for on its channel."""

    type: str | None = None
    match: Mapping[str, Any] | None = None
    fields: Mapping[str, Any] | None = None
    where: Callable[[Event], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.match is not None:
            if not isinstance(self.match, Mapping):
                raise UsageError(f"match must be a mapping of fields, got {self.match!r}")
            check_spec(self.match, "match")
        if self.fields is not None:
            check_spec(dict(self.fields), "fields")

    def matches(self, event: Event) -> bool:
        if self.type is not None and event.type != self.type:
            return False
        if self.match is not None and not matches_spec(event.value, self.match):
            return False
        if self.fields is not None:
            for path, spec in self.fields.items():
                if not compare(lookup(event, path, MISSING), spec, path, None):
                    return False
        if self.where is not None:
            try:
                return bool(self.where(event))
            except Exception:
                return False
        return True

    def diff(self, event: Event) -> list[str]:
        """Why ``event`` does not match, one line per differing field."""
        diffs: list[str] = []
        if self.type is not None and event.type != self.type:
            diffs.append(f"type: expected {self.type!r}, got {event.type!r}")
        if self.match is not None:
            compare(event.value, self.match, "", diffs)
        if self.fields is not None:
            for path, spec in self.fields.items():
                compare(lookup(event, path, MISSING), spec, path, diffs)
        if self.where is not None:
            try:
                if not self.where(event):
                    diffs.append("predicate returned false")
            except Exception as exc:
                diffs.append(f"predicate raised {type(exc).__name__}: {exc}")
        return diffs

    def describe(self) -> str:
        parts = []
        if self.type is not None:
            parts.append(f"type={self.type}")
        if self.match:
            parts.append(f"match={dict(self.match)}")
        if self.fields:
            parts.append(f"fields={dict(self.fields)}")
        if self.where is not None:
            parts.append(f"where={getattr(self.where, '__name__', 'predicate')}")
        return " ".join(parts) or "any event"

