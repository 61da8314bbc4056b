"""One matcher applied to one value: the reason it fails, or None.

Semantics follow the specification and, where it is silent, the reference implementation
(pact-reference, the core pact-python bundles), so that a pact verifies the same in both:

* ``regex`` must match the whole value (the specification's case "plain text regex matching
  that does not match": ``alligator named .{4}`` does not match ``alligator named brent``);
  non-text values are matched through their JSON text. Patterns run on RE2, never on the
  backtracking ``re``.
* ``type`` (and ``min``/``max``) compares JSON types; any two numbers are the same type.
  Bounds apply to lists only, and not when the rule reached the value by cascading from a parent.
* ``integer`` wants a JSON integer, ``decimal`` a JSON number written with a fraction or exponent
  (``1.0``), ``number`` either; booleans are never numbers.
* ``equality`` and ``values`` at a leaf compare JSON values strictly (``1`` is not ``true``).
* ``boolean`` accepts ``true``/``false`` and, as text (metadata), ``"true"``/``"false"``.
* container-only rules (``eachKey``, ``eachValue``, ``arrayContains``) pass at a leaf.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import re2  # type: ignore[import-untyped]

from eventharness.contracts import datetimes
from eventharness.contracts.rules import Matcher

__all__ = ["check", "detect_content_type", "full_match", "json_type", "same_json"]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False

_SEMVER = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _RE2_OPTIONS)


def full_match(pattern: str, text: str) -> bool:
    """Whether RE2's ``pattern`` matches all of ``text``."""
    return _compiled(pattern).fullmatch(text) is not None


def json_type(value: Any) -> str:
    """The JSON type name: Null, Boolean, Number, String, List, Map (the reference's words)."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "List"
    if isinstance(value, dict):
        return "Map"
    return type(value).__name__


def same_json(a: Any, b: Any) -> bool:
    """JSON equality: types must agree (``True`` is not ``1``), ``1`` equals ``1.0``."""
    if json_type(a) != json_type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)[:200]


def check(matcher: Matcher, expected: Any, actual: Any, *, cascaded: bool = False) -> str | None:
    """Why ``actual`` fails ``matcher`` (``expected`` is the example), or None."""
    kind = matcher.kind
    handler = _HANDLERS.get(kind)
    if handler is None:
        return None
    return handler(matcher, expected, actual, cascaded)


def _regex(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    pattern = m.get("regex")
    if isinstance(actual, dict | list):
        return (
            f"expected {_show(actual)} to match regex {pattern!r}, but it is a {json_type(actual)}"
        )
    if full_match(pattern, _text(actual)):
        return None
    return f"expected {_show(actual)} to match regex {pattern!r}"


def _include(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    value = m.get("value")
    if value in _text(actual):
        return None
    return f"expected {_show(actual)} to include {value!r}"


def _type(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if json_type(expected) != json_type(actual):
        return (
            f"expected a {json_type(expected)} like {_show(expected)}, "
            f"got a {json_type(actual)} {_show(actual)}"
        )
    if isinstance(actual, list) and not cascaded:
        low, high = m.get("min"), m.get("max")
        if m.kind == "min" and low is None:
            low = m.get("value")
        if m.kind == "max" and high is None:
            high = m.get("value")
        if isinstance(low, int) and len(actual) < low:
            return f"expected at least {low} item(s), got {len(actual)}"
        if isinstance(high, int) and len(actual) > high:
            return f"expected at most {high} item(s), got {len(actual)}"
    return None


def _equality(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if same_json(expected, actual):
        return None
    return f"expected {_show(expected)} (equality), got {_show(actual)}"


def _integer(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if isinstance(actual, int) and not isinstance(actual, bool):
        return None
    return f"expected an integer, got {_show(actual)}"


def _decimal(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if isinstance(actual, float):
        return None
    return f"expected a decimal number, got {_show(actual)}"


def _number(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        return None
    return f"expected a number, got {_show(actual)}"


def _null(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    return None if actual is None else f"expected null, got {_show(actual)}"


def _boolean(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if isinstance(actual, bool) or actual in ("true", "false"):
        return None
    return f"expected a boolean, got {_show(actual)}"


def _datetime(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    kind = {"timestamp": "datetime"}.get(m.kind, m.kind)
    pattern = m.get("format") or m.get(m.kind)
    if not isinstance(actual, str):
        return f"expected a {kind} text, got {_show(actual)}"
    problem = datetimes.validate(kind, actual, pattern)
    if problem is None:
        return None
    return f"expected a {kind} in format {pattern or 'ISO 8601'!r}, got {_show(actual)}: {problem}"


def _not_empty(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    # Present and not empty, of any type: what the reference implementation checks.
    if actual is None or actual in ("", [], {}):
        return f"expected a non-empty value, got {_show(actual)}"
    return None


def _semver(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    if isinstance(actual, str) and full_match(_SEMVER, actual):
        return None
    return f"expected a semantic version, got {_show(actual)}"


def _content_type(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    wanted = str(m.get("value")).split(";")[0].strip().lower()
    found = detect_content_type(actual)
    if found == wanted or (wanted.endswith("+json") and found == "application/json"):
        return None
    return f"expected content of type {wanted!r}, got {found!r}"


def _status_code(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    status = m.get("status")
    ranges = {
        "info": (100, 199),
        "success": (200, 299),
        "redirect": (300, 399),
        "clientError": (400, 499),
        "serverError": (500, 599),
        "error": (400, 599),
    }
    if not isinstance(actual, int) or isinstance(actual, bool):
        return f"expected a status code, got {_show(actual)}"
    if isinstance(status, list):
        return None if actual in status else f"expected a status in {status}, got {actual}"
    low, high = ranges.get(str(status), (100, 599))
    return None if low <= actual <= high else f"expected a {status} status, got {actual}"


def _pass(m: Matcher, expected: Any, actual: Any, cascaded: bool) -> str | None:
    return None


def detect_content_type(value: Any) -> str:
    """A best guess of the content type of a decoded value or raw bytes."""
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            return "application/octet-stream"
    if not isinstance(value, str):
        return "application/json"
    stripped = value.lstrip()
    if stripped.startswith("<"):
        return "application/xml"
    try:
        json.loads(value)
    except ValueError:
        return "text/plain"
    return "application/json"


_HANDLERS = {
    "regex": _regex,
    "include": _include,
    "type": _type,
    "min": _type,
    "max": _type,
    "equality": _equality,
    "values": _equality,
    "integer": _integer,
    "decimal": _decimal,
    "real": _decimal,
    "number": _number,
    "null": _null,
    "boolean": _boolean,
    "date": _datetime,
    "time": _datetime,
    "timestamp": _datetime,
    "datetime": _datetime,
    "notEmpty": _not_empty,
    "semver": _semver,
    "contentType": _content_type,
    "content-type": _content_type,
    "statusCode": _status_code,
    "eachKey": _pass,
    "eachValue": _pass,
    "arrayContains": _pass,
}
