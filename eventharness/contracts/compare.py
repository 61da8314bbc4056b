"""Comparing an actual message with an expected one under the pact's matching rules.

:func:`compare_json` walks the expected example and the actual value together and returns
**every** mismatch — its JSON path, the rule that was applied, the expected example and the
actual value — never only the first. The walk is the specification's, as the reference
implementation does it:

* maps: every expected key must be present; extra keys are allowed in messages and responses
  (``allow_unexpected_keys``) but not in requests; ``values``/``eachValue`` compare every actual
  entry with the example instead, ``eachKey`` checks every actual key;
* lists without a rule must have the example's length, item by item; with a rule (``type``
  with ``min``/``max``...) every actual item is compared with the example's item at the same
  index, or its first item when the actual list is longer; ``arrayContains`` looks for each
  variant among the actual items;
* leaves: the heaviest applicable rule (see :mod:`~eventharness.contracts.paths`), else equality.

:func:`compare_body` adds what bodies need around that — missing, ``null`` and empty bodies,
text bodies — and :func:`compare_metadata` compares message metadata by key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventharness.contracts.matchers import check, json_type
from eventharness.contracts.paths import PathStep, format_path
from eventharness.contracts.rules import Matcher, RuleList, best_rule, tokens_of
from eventharness.model.events import MISSING, is_missing

__all__ = ["Mismatch", "compare_body", "compare_json", "compare_metadata"]


@dataclass(frozen=True)
class Mismatch:
    """One difference: where (``$.a[1].b``, or ``metadata.topic``), the rule applied (``regex
    '\\d+'``, ``equality``, ``shape``), the expected example, the actual value, and why."""

    path: str
    rule: str
    expected: Any
    actual: Any
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [rule: {self.rule}]"


class _Walk:
    def __init__(self, rules: Mapping[str, RuleList], allow_unexpected_keys: bool) -> None:
        self.rules = dict(rules)
        self.allow_unexpected_keys = allow_unexpected_keys
        self.found: list[Mismatch] = []

    def add(
        self, path: Sequence[PathStep], rule: str, expected: Any, actual: Any, why: str
    ) -> None:
        self.found.append(Mismatch(format_path(path), rule, expected, actual, why))

    def rule_at(self, path: Sequence[PathStep]) -> tuple[RuleList | None, bool]:
        """The best rule for ``path`` and whether it was inherited from a parent path."""
        chosen = best_rule(self.rules, path)
        if chosen is None:
            return None, False
        exact = any(
            self.rules[e] is chosen and len(tokens_of(e)) == len(path) + 1 for e in self.rules
        )
        return chosen, not exact

    def compare(self, path: list[PathStep], expected: Any, actual: Any) -> None:
        if isinstance(expected, dict):
            if isinstance(actual, dict):
                self.maps(path, expected, actual)
            else:
                self.shape(path, expected, actual)
        elif isinstance(expected, list):
            if isinstance(actual, list):
                self.lists(path, expected, actual)
            else:
                self.shape(path, expected, actual)
        else:
            self.leaf(path, expected, actual)

    def shape(self, path: list[PathStep], expected: Any, actual: Any) -> None:
        why = f"expected a {json_type(expected)}, got a {json_type(actual)} {_show(actual)}"
        self.add(path, "shape", expected, actual, why)

    # -- leaves -----------------------------------------------------------------------------

    def leaf(self, path: list[PathStep], expected: Any, actual: Any) -> None:
        rule, cascaded = self.rule_at(path)
        if rule is None:
            rule = RuleList((Matcher("equality"),))
        self.apply(path, rule, expected, actual, cascaded)

    def apply(
        self, path: list[PathStep], rule: RuleList, expected: Any, actual: Any, cascaded: bool
    ) -> bool:
        failures = []
        for matcher in rule.matchers:
            why = check(matcher, expected, actual, cascaded=cascaded)
            if why is not None:
                failures.append((matcher, why))
        passed = not failures if rule.combine == "AND" else len(failures) < len(rule.matchers)
        if not passed:
            for matcher, why in failures:
                self.add(path, matcher.describe(), expected, actual, why)
        return passed

    # -- maps -------------------------------------------------------------------------------

    def maps(self, path: list[PathStep], expected: dict[str, Any], actual: dict[str, Any]) -> None:
        if not expected and actual and not self.allow_unexpected_keys:
            self.add(path, "shape", expected, actual, f"expected an empty map, got {_show(actual)}")
            return
        rule, cascaded = self.rule_at(path)
        matchers = rule.matchers if rule else ()
        kinds = {m.kind for m in matchers}
        if rule is not None and not self.apply(path, _container(rule), expected, actual, cascaded):
            return
        if "equality" in kinds and not cascaded:
            return
        by_value = not cascaded and kinds & {"values", "eachValue", "eachKey"}
        for m in matchers:
            if m.kind == "eachKey" and not cascaded:
                for key in actual:
                    self.apply([*path, key], RuleList(m.rules), key, key, False)
            if m.kind == "eachValue" and not cascaded:
                self.rules[format_path(path) + ".*"] = RuleList(m.rules)
        if by_value:
            first = next(iter(expected.values()), MISSING)
            for key, value in actual.items():
                example = expected.get(key, first)
                if not is_missing(example):
                    self.compare([*path, key], example, value)
            return
        missing = [k for k in expected if k not in actual]
        if missing:
            why = "actual map is missing the keys " + ", ".join(missing)
            self.add(path, "shape", expected, actual, why)
        extra = [k for k in actual if k not in expected]
        if extra and not self.allow_unexpected_keys:
            why = "unexpected keys " + ", ".join(extra)
            self.add(path, "shape", expected, actual, why)
        for key, value in expected.items():
            if key in actual:
                self.compare([*path, key], value, actual[key])

    # -- lists ------------------------------------------------------------------------------

    def lists(self, path: list[PathStep], expected: list[Any], actual: list[Any]) -> None:
        rule, cascaded = self.rule_at(path)
        if rule is None:
            if not expected and actual:
                why = f"expected an empty list, got {_show(actual)}"
                self.add(path, "shape", expected, actual, why)
                return
            for i, value in enumerate(expected):
                if i < len(actual):
                    self.compare([*path, i], value, actual[i])
                elif self.rule_at([*path, i])[0] is None:
                    why = f"expected {_show(value)} at index {i}, but it is missing"
                    self.add([*path, i], "shape", value, MISSING, why)
            if len(expected) != len(actual):
                why = f"expected a list of {len(expected)} items, got {len(actual)}"
                self.add(path, "shape", expected, actual, why)
            return
        # A list of the wrong size is named, and its items are still judged (as Pact does).
        self.apply(path, _container(rule), expected, actual, cascaded)
        kinds = {m.kind for m in rule.matchers}
        if "equality" in kinds and not cascaded:
            return
        for m in rule.matchers:
            if m.kind == "arrayContains" and not cascaded:
                self.array_contains(path, m, expected, actual)
            if m.kind == "eachValue" and not cascaded:
                self.rules[format_path(path) + "[*]"] = RuleList(m.rules)
        if "arrayContains" in kinds and not cascaded:
            return
        if expected:
            for i, value in enumerate(actual):
                self.compare([*path, i], expected[i] if i < len(expected) else expected[0], value)

    def array_contains(
        self, path: list[PathStep], m: Matcher, expected: list[Any], actual: list[Any]
    ) -> None:
        for variant in m.variants:
            if variant.index >= len(expected):
                why = f"arrayContains variant {variant.index} has no example"
                self.add(path, m.kind, expected, actual, why)
                continue
            example = expected[variant.index]
            if not any(
                not compare_json(example, item, variant.rules, self.allow_unexpected_keys)
                for item in actual
            ):
                why = f"no item matches variant {variant.index} ({_show(example)})"
                self.add(path, "arrayContains", example, actual, why)


def _container(rule: RuleList) -> RuleList:
    """The part of a rule that a map or list itself is checked against."""
    kept = tuple(
        m
        for m in rule.matchers
        if m.kind not in {"eachKey", "eachValue", "values", "arrayContains", "equality"}
    )
    return RuleList(kept, rule.combine) if kept else RuleList((Matcher("type"),))


def compare_json(
    expected: Any,
    actual: Any,
    rules: Mapping[str, RuleList] | None = None,
    allow_unexpected_keys: bool = True,
) -> list[Mismatch]:
    """Every mismatch between the ``expected`` example and ``actual`` under path ``rules``."""
    walk = _Walk(rules or {}, allow_unexpected_keys)
    walk.compare([], expected, actual)
    return walk.found


def compare_body(
    expected: Any,
    actual: Any,
    rules: Mapping[str, RuleList] | None = None,
    *,
    content_type: str | None = None,
    allow_unexpected_keys: bool = True,
) -> list[Mismatch]:
    """Compare two bodies; ``MISSING`` means no body. A missing expected body accepts any body;
    ``None`` or ``""`` expects no content; text bodies of a non-JSON type compare as text."""
    rules = rules or {}
    if is_missing(expected):
        return []
    if expected is None or expected == "":
        if is_missing(actual) or actual is None or actual == "":
            return []
        return [
            Mismatch("$", "empty body", expected, actual, f"expected no body, got {_show(actual)}")
        ]
    if is_missing(actual) or actual is None:
        return [
            Mismatch("$", "body", expected, actual, f"expected a body {_show(expected)}, got none")
        ]
    if isinstance(expected, bytes) or isinstance(actual, bytes):
        return _compare_bytes(expected, actual, rules)
    if isinstance(actual, str) and not isinstance(expected, str) and _is_json(content_type):
        try:
            actual = json.loads(actual)
        except ValueError as exc:
            return [Mismatch("$", "body", expected, actual, f"actual body is not JSON: {exc}")]
    return compare_json(expected, actual, rules, allow_unexpected_keys)


def _compare_bytes(expected: Any, actual: Any, rules: Mapping[str, RuleList]) -> list[Mismatch]:
    rule = best_rule(rules, [])
    if rule is not None:
        walk = _Walk(rules, True)
        walk.apply([], rule, expected, actual, False)
        return walk.found
    if expected == actual:
        return []
    return [Mismatch("$", "equality", expected, actual, "binary contents differ")]


def compare_metadata(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    rules: Mapping[str, RuleList] | None = None,
) -> list[Mismatch]:
    """Every expected metadata key must be in ``actual`` and match its rule (else equality)."""
    rules = rules or {}
    found: list[Mismatch] = []
    for key, value in expected.items():
        if key not in actual:
            found.append(Mismatch(f"metadata.{key}", "presence", value, MISSING, "missing"))
            continue
        rule = rules.get(key) or RuleList((Matcher("equality"),))
        failures = [(m, check(m, value, actual[key])) for m in rule.matchers]
        failed = [(m, why) for m, why in failures if why is not None]
        if failed and (rule.combine == "AND" or len(failed) == len(rule.matchers)):
            for m, why in failed:
                found.append(
                    Mismatch(f"metadata.{key}", m.describe(), value, actual[key], str(why))
                )
    return found


def _is_json(content_type: str | None) -> bool:
    base = (content_type or "application/json").split(";")[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)[:200]
    except TypeError:
        return repr(value)[:200]
