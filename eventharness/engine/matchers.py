r"""Matching events: by type, subset of the payload, field operators, or a predicate.

The plain-data form is what YAML scenario files use too::

    match={"order_id": "o-1", "total": {"gt": 10}, "lines": [{"sku": "A"}]}
    fields={"key": "o-1", "headers.tenant": {"exists": True}}

``match`` is a subset match on the decoded value: nested mappings match when every expected key
matches; a list matches an equal-length list item by item. ``fields`` takes dotted paths resolved
on the whole event (``key``, ``headers.x``, ``value.a.b``).

Which mappings are operator tests — one rule, applied by :func:`spec_problems` both when a
:class:`Matcher` is built and when a scenario file is validated:

* every key is an operator (``eq ne gt ge lt le regex exists one_of``): an operator test,
  ``{"total": {"gt": 1, "le": 5}}``;
* no key is an operator: a nested subset match on fields, whatever the keys look like —
  ``{"seq": 1}``, ``{"n": 2}``, ``{"get": "x"}``, even ``{"gte": 3}`` are field names. When such a
  mapping fails to match because the value is not an object, the failure line suggests the
  operator (``'gte' is read as a field name; for the operator write 'ge'``): suggest, never reject;
* some keys are operators and some are not (``{"gt": 1, "lte": 5}``): a usage error at
  declaration, one per non-operator key, naming the path and suggesting the operator
  (``match.total: 'lte' is not a match operator; did you mean 'le'?``). A payload whose fields
  really are named like operators is matched by dotted path under ``fields``
  (``fields={"value.range.gt": 1, "value.range.unit": "s"}``) or with ``where=``.

``regex`` searches (``search``, not ``fullmatch``: anchor with ``^``/``$``) using RE2, a
linear-time engine, so no pattern can stall the event loop (``^(a+)+$`` against a long value
answers at once). Patterns are compiled once (cached) and checked at declaration: RE2 lacks
backreferences, lookaround, atomic groups, possessive quantifiers and ``\Z`` (write ``\z``),
and such patterns are usage errors that say so. Where Python's ``re`` would accept the same
pattern, RE2 differs in that ``\d \w \s \b`` are ASCII-only (use ``\p{Nd}``,
``\p{L}``) and ``$`` matches only at the very end, not before a final newline.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]

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


_RE2_WIKI = "https://github.com/google/re2/wiki/Syntax"
RE2_SYNTAX = f"RE2 syntax: no backreferences or lookaround; see {_RE2_WIKI}"
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the reason goes into our UsageError, not onto stderr

# What RE2 rejects that Python's ``re`` accepts, by the start of RE2's reason.
_UNSUPPORTED = {
    "invalid perl operator: (?=": "a lookahead (?=...)",
    "invalid perl operator: (?!": "a negative lookahead (?!...)",
    "invalid perl operator: (?<=": "a lookbehind (?<=...)",
    "invalid perl operator: (?<!": "a negative lookbehind (?<!...)",
    "invalid perl operator: (?>": "an atomic group (?>...)",
    "invalid perl operator: (?(": "a conditional group (?(...)",
    "invalid perl operator: (?#": "a comment group (?#...)",
    "invalid perl operator: (?x": "verbose mode (?x)",
    "invalid escape sequence: \\Z": "\\Z (write \\z for the end of the text)",
}


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """The RE2 program for ``pattern``, built once; raises ``re2.error``."""
    return re2.compile(pattern, _RE2_OPTIONS)


def regex_problem(pattern: Any) -> str | None:
    """Why ``pattern`` cannot be a ``regex`` operand, or None when it compiles (and is cached)."""
    if not isinstance(pattern, str):
        return f"regex needs a text pattern, got {pattern!r}"
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    else:
        return None
    feature = _unsupported_feature(pattern, reason)
    if feature is None:
        return f"bad regex {pattern!r}: {reason} (patterns use RE2 syntax; see {_RE2_WIKI})"
    return (
        f"regex {pattern!r} uses {feature}, which the linear-time engine does not support "
        f"({RE2_SYNTAX}); rewrite the pattern without it, or test the field in Python "
        "with where="
    )


def _unsupported_feature(pattern: str, reason: str) -> str | None:
    """Name the Python-only construct RE2 rejected, or None when ``re`` rejects it too."""
    try:
        re.compile(pattern)  # compiling only: no matching, so no backtracking
    except re.error:
        return None
    backreference = re.fullmatch(r"invalid escape sequence: (\\[1-9])", reason)
    if backreference:
        return f"a backreference ({backreference.group(1)})"
    if reason.startswith("invalid perl operator: (?P") and "(?P=" in pattern:
        return "a named backreference (?P=name)"
    if reason.startswith("bad repetition operator: ") and reason.endswith("+"):
        return f"a possessive quantifier ({reason.rpartition(' ')[2]})"
    for start, feature in _UNSUPPORTED.items():
        if reason.startswith(start):
            return feature
    return f"a construct RE2 lacks (RE2 says {reason!r})"


def _regex(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and _compiled(expected).search(actual) is not None


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
_OPERATOR_KEYS = frozenset(OPERATOR_NAMES)
_SCALARS = (str, int, float, bool, type(None))


def is_operator(spec: Any) -> bool:
    """Is ``spec`` an operator test: a non-empty mapping whose keys are all operators?

    Called once per mapping on the per-event path: a set comparison, no generator."""
    return isinstance(spec, Mapping) and bool(spec) and spec.keys() <= _OPERATOR_KEYS


# Operator spellings from other tools, mapped to ours (difflib alone says 'lte' -> 'lt').
_ALIASES = {
    "gte": "ge",
    "lte": "le",
    "neq": "ne",
    "equals": "eq",
    "equal": "eq",
    "in": "one_of",
    "oneof": "one_of",
    "one-of": "one_of",
    "any_of": "one_of",
    "exist": "exists",
    "regexp": "regex",
    "matches": "regex",
    "pattern": "regex",
}


def suggest_operator(key: Any) -> str | None:
    """The operator ``key`` probably means (``lte`` -> ``le``), or None."""
    word = str(key)
    if word.lower() in _ALIASES:
        return _ALIASES[word.lower()]
    found = difflib.get_close_matches(word, OPERATOR_NAMES, n=1, cutoff=0.6)
    return found[0] if found else None


def spec_problems(spec: Any, where: str) -> list[str]:
    """Every mistake in a match/fields spec, each ``"<path>: <what and the fix>"``.

    The one check behind :class:`Matcher` and scenario-file validation (see the module
    docstring for the rule): operator arguments, regexes, and mappings that mix operators with
    other keys.
    """
    problems: list[str] = []
    if type(spec) is dict and _plain(spec):
        return problems
    if isinstance(spec, Mapping):
        if is_operator(spec):
            for op, arg in spec.items():
                if op == "regex":
                    problem = regex_problem(arg)
                    if problem is not None:
                        problems.append(f"{where}: {problem}")
                if op == "one_of" and not isinstance(arg, list | tuple | set | frozenset):
                    problems.append(f"{where}: one_of needs a list, got {arg!r}")
                if op == "exists" and not isinstance(arg, bool):
                    problems.append(f"{where}: exists needs true or false, got {arg!r}")
            return problems
        operators = [k for k in spec if k in _OPERATOR_KEYS]
        if operators:
            problems.extend(_mixed(spec, operators, where))
            return problems
        for key, sub in spec.items():
            if type(sub) not in _SCALARS:  # a plain value has nothing to get wrong
                problems.extend(spec_problems(sub, f"{where}.{key}"))
    elif isinstance(spec, list):
        for i, sub in enumerate(spec):
            problems.extend(spec_problems(sub, f"{where}[{i}]"))
    return problems


def _plain(spec: dict[Any, Any]) -> bool:
    """Is ``spec`` field names with plain values only (the usual ``match``)? Then nothing in
    it can be wrong."""
    if not _OPERATOR_KEYS.isdisjoint(spec):
        return False
    for value in spec.values():  # noqa: SIM110 - a loop is cheaper than all(genexpr)
        if type(value) not in _SCALARS:
            return False
    return True


def _mixed(spec: Mapping[Any, Any], operators: list[Any], where: str) -> list[str]:
    rule = (
        f"a mapping with an operator ({', '.join(operators)}) may hold only operators: "
        f"{' '.join(OPERATOR_NAMES)}"
    )
    problems = []
    for key in spec:
        if key in OPERATOR_NAMES:
            continue
        guess = suggest_operator(key)
        if guess is not None:
            fix = f"did you mean {guess!r}? ({rule})"
        else:
            fix = (
                f"{rule}; match fields named like operators by dotted path under fields: "
                f"or with where="
            )
        problems.append(f"{where}: {key!r} is not a match operator; {fix}")
    return problems


def check_spec(spec: Any, where: str) -> None:
    """Raise UsageError for mistakes in a match/fields spec (before anything runs)."""
    problems = spec_problems(spec, where)
    if problems:
        raise UsageError("\n".join(problems))


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
    """Does ``actual`` satisfy ``spec``? Collect field-level differences in ``diffs``.

    With ``diffs=None`` it answers at the first difference; otherwise it goes on and records
    every one. One test per kind of spec: operators, a field mapping, a list, a plain value.
    """
    if is_operator(spec):
        return _compare_operators(actual, spec, path, diffs)
    if isinstance(spec, Mapping):
        return _compare_fields(actual, spec, path, diffs)
    if isinstance(spec, list):
        return _compare_items(actual, spec, path, diffs)
    if is_missing(actual) or actual != spec or isinstance(actual, bool) != isinstance(spec, bool):
        if diffs is not None:
            diffs.append(f"{path}: expected {spec!r}, got {_show(actual)}")
        return False
    return True


def _compare_operators(
    actual: Any, spec: Mapping[str, Any], path: str, diffs: list[str] | None
) -> bool:
    """``{"gt": 1, "le": 5}``: every operator holds for ``actual``."""
    ok = True
    for op, arg in spec.items():
        if op == "exists":
            passed = (not is_missing(actual)) == bool(arg)
        else:
            passed = not is_missing(actual) and OPERATORS[op](actual, arg)
        if not passed:
            if diffs is None:
                return False
            ok = False
            diffs.append(f"{path}: expected {op} {arg!r}, got {_show(actual)}")
    return ok


def _compare_fields(
    actual: Any, spec: Mapping[Any, Any], path: str, diffs: list[str] | None
) -> bool:
    """A subset match: ``actual`` is a mapping and each key of ``spec`` matches in it."""
    if not isinstance(actual, Mapping):
        if diffs is not None:
            diffs.append(
                f"{path}: expected an object, got {_show(actual)}{_looks_like_operators(spec)}"
            )
        return False
    ok = True
    for key, sub in spec.items():
        found = actual.get(key, MISSING)
        if not compare(found, sub, f"{path}.{key}" if path else str(key), diffs):
            if diffs is None:
                return False
            ok = False
    return ok


def _compare_items(actual: Any, spec: list[Any], path: str, diffs: list[str] | None) -> bool:
    """``actual`` is a list as long as ``spec`` whose items match it item by item."""
    if not isinstance(actual, list) or len(actual) != len(spec):
        if diffs is not None:
            diffs.append(f"{path}: expected a list of {len(spec)}, got {_show(actual)}")
        return False
    ok = True
    for i, (item, sub) in enumerate(zip(actual, spec, strict=True)):
        if not compare(item, sub, f"{path}[{i}]", diffs):
            if diffs is None:
                return False
            ok = False
    return ok


def _looks_like_operators(spec: Mapping[Any, Any]) -> str:
    """A hint when a field mapping that found no object was probably meant as operators."""
    hints = [
        f"{key!r} is read as a field name; for the operator write {guess!r}"
        for key in spec
        if (guess := suggest_operator(key)) is not None
    ]
    return f" ({'; '.join(hints)})" if hints else ""


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
