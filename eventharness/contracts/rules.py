"""Matching rules as Pact files carry them: parsed once into typed records, written back as read.

Three shapes are read:

* V2 style, flat and keyed by full path — ``{"$.body.id": {"match": "type"}}`` (still found in
  V3 files written by older tools); ``$.body`` becomes the ``body`` category, ``$.metadata.x``
  the ``metadata`` rule of ``x``, ``$.headers.x`` the ``header`` rule of ``x``;
* V3/V4 style, by category — ``{"body": {"$.id": {"matchers": [...], "combine": "AND"}}}``;
* V4 message pacts, whose category for the contents is ``content`` (the specification's test
  cases) or ``body`` (what the reference implementation writes): both read as ``body``.

Categories ``body`` (and a V4 synchronous message's ``request``/``response`` contents) are keyed
by path expressions and weighted (:mod:`~eventharness.contracts.paths`); ``metadata`` and
``header`` are keyed by name. Every problem raises :class:`ContractError` naming the file and the
JSON path of the offending rule: an unknown matcher, a bad path or regex, a missing operand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventharness.contracts.paths import PathStep, PathToken, parse_path, path_weight
from eventharness.engine.matchers import regex_problem
from eventharness.model.errors import ContractError

__all__ = [
    "BODY",
    "MATCHER_KINDS",
    "PATH_CATEGORIES",
    "Matcher",
    "MatchingRules",
    "RuleList",
    "Variant",
    "best_rule",
    "parse_matcher",
    "parse_matching_rules",
    "tokens_of",
]

BODY = "body"
# Categories whose keys are path expressions (the rest are keyed by a header/metadata name).
PATH_CATEGORIES = frozenset({BODY, "content"})

# Every matcher the specification defines (V2-V4), with the aliases the reference reads.
MATCHER_KINDS = frozenset(
    {
        "equality",
        "regex",
        "type",
        "min",
        "max",
        "include",
        "integer",
        "decimal",
        "real",
        "number",
        "null",
        "boolean",
        "date",
        "time",
        "timestamp",
        "datetime",
        "values",
        "eachKey",
        "eachValue",
        "arrayContains",
        "notEmpty",
        "semver",
        "contentType",
        "content-type",
        "statusCode",
    }
)


@dataclass(frozen=True)
class Matcher:
    """One matching rule: ``kind`` is the ``match`` value; ``params`` the other keys as written
    (``regex``, ``min``, ``max``, ``value``, ``format``...). ``rules`` holds the nested rules of
    ``eachKey``/``eachValue``; ``variants`` those of ``arrayContains``."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    rules: tuple[Matcher, ...] = ()
    variants: tuple[Variant, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    @property
    def is_type_like(self) -> bool:
        """Matchers that compare only the shape and cascade to the values beneath them."""
        return self.kind in {"type", "min", "max", "notEmpty", "values", "eachValue"}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"match": self.kind, **self.params}
        if self.kind in {"eachKey", "eachValue"}:
            out["rules"] = [m.to_json() for m in self.rules]
        if self.kind == "arrayContains":
            out["variants"] = [v.to_json() for v in self.variants]
        return out

    def describe(self) -> str:
        """How a mismatch names the rule: ``regex '\\d+'``, ``type (min 1)``."""
        extra = [f"{k} {v!r}" for k, v in sorted(self.params.items()) if k != "combine"]
        if self.rules:
            extra.append("rules " + ", ".join(m.describe() for m in self.rules))
        return self.kind + (f" ({'; '.join(extra)})" if extra else "")


@dataclass(frozen=True)
class RuleList:
    """The rules at one path: all must hold (``AND``) or one (``OR``)."""

    matchers: tuple[Matcher, ...]
    combine: str = "AND"

    def to_json(self) -> dict[str, Any]:
        return {"combine": self.combine, "matchers": [m.to_json() for m in self.matchers]}


@dataclass(frozen=True)
class Variant:
    """One ``arrayContains`` variant: some actual element must match the expected element at
    ``index`` under ``rules`` (paths rooted at that element)."""

    index: int
    rules: Mapping[str, RuleList]
    generators: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "rules": {p: r.to_json() for p, r in self.rules.items()},
        }
        if self.generators:
            out["generators"] = dict(self.generators)
        return out


@dataclass(frozen=True)
class MatchingRules:
    """All rules of one message, by category: ``body``, ``metadata``, ``header``..."""

    categories: Mapping[str, Mapping[str, RuleList]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.categories.values())

    def category(self, name: str) -> Mapping[str, RuleList]:
        return self.categories.get(name, {})

    def best(self, category: str, path: Sequence[PathStep]) -> RuleList | None:
        """The rules of the heaviest expression that applies to ``path`` (see paths)."""
        return best_rule(self.category(category), path)

    def to_json(self, body_category: str = BODY) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, rules in self.categories.items():
            if rules:
                key = body_category if name == BODY else name
                out[key] = {p: r.to_json() for p, r in rules.items()}
        return out


def best_rule(rules: Mapping[str, RuleList], path: Sequence[PathStep]) -> RuleList | None:
    """Among path-keyed ``rules``, the one whose expression weighs most for ``path``."""
    best: tuple[int, int] = (0, 0)
    chosen: RuleList | None = None
    for expression, rule_list in rules.items():
        tokens = tokens_of(expression)
        weight = path_weight(tokens, path)
        if weight and (weight, len(tokens)) > best:
            best, chosen = (weight, len(tokens)), rule_list
    return chosen


_TOKEN_CACHE: dict[str, tuple[PathToken, ...]] = {}


def tokens_of(expression: str) -> tuple[PathToken, ...]:
    """The parsed tokens of ``expression`` (cached)."""
    tokens = _TOKEN_CACHE.get(expression)
    if tokens is None:
        tokens = _TOKEN_CACHE[expression] = parse_path(expression)
    return tokens


def parse_matching_rules(raw: Any, where: str) -> MatchingRules:
    """Read a ``matchingRules`` object of any specification version."""
    if raw is None:
        return MatchingRules()
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: matchingRules must be an object, got {_kind(raw)}")
    if raw and all(isinstance(k, str) and k.startswith("$") for k in raw):
        return _parse_v2(raw, where)
    categories: dict[str, dict[str, RuleList]] = {}
    for name, entries in raw.items():
        cat = BODY if name == "content" else name
        at = f"{where}.{name}"
        if not isinstance(entries, Mapping):
            raise ContractError(f"{at}: a category must be an object, got {_kind(entries)}")
        target = categories.setdefault(cat, {})
        for key, value in entries.items():
            expr = key if cat in PATH_CATEGORIES else None
            target[key] = _rule_list(value, f"{at}[{key!r}]", expr)
    return MatchingRules(categories)


def _parse_v2(raw: Mapping[str, Any], where: str) -> MatchingRules:
    categories: dict[str, dict[str, RuleList]] = {}
    for key, value in raw.items():
        at = f"{where}[{key!r}]"
        head, _, rest = key[2:].partition(".") if key.startswith("$.") else ("", "", "")
        head, bracket, tail = head.partition("[")
        if head == BODY:
            cat, sub = BODY, "$" + ("[" + tail if bracket else "") + ("." + rest if rest else "")
        elif head in {"metadata", "metaData", "headers", "header", "query", "path"} and (
            rest or head == "path"
        ):
            cat = {"metaData": "metadata", "headers": "header"}.get(head, head)
            sub = rest or ""
        else:
            raise ContractError(
                f"{at}: a V2 rule path must start with $.body, $.metadata or $.headers"
            )
        categories.setdefault(cat, {})[sub] = _rule_list(value, at, sub if cat == BODY else None)
    return MatchingRules(categories)


def _rule_list(raw: Any, where: str, expression: str | None) -> RuleList:
    if expression is not None:
        try:
            parse_path(expression)
        except ValueError as exc:
            raise ContractError(f"{where}: bad path expression: {exc}") from None
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: rules must be an object, got {_kind(raw)}")
    if "matchers" in raw:
        items = raw["matchers"]
        if not isinstance(items, list):
            raise ContractError(f"{where}.matchers: must be a list, got {_kind(items)}")
        matchers = tuple(parse_matcher(m, f"{where}.matchers[{i}]") for i, m in enumerate(items))
    else:
        matchers = (parse_matcher(raw, where),)
    combine = raw.get("combine", "AND")
    if combine not in {"AND", "OR"}:
        raise ContractError(f"{where}.combine: must be 'AND' or 'OR', got {combine!r}")
    return RuleList(matchers, combine)


def parse_matcher(raw: Any, where: str) -> Matcher:
    """One matcher object; V2 objects without ``match`` are inferred from their keys."""
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: a matcher must be an object, got {_kind(raw)}")
    params = {k: v for k, v in raw.items() if k not in {"match", "rules", "variants"}}
    kind = raw.get("match")
    if kind is None:
        kind = next((k for k in ("regex", "timestamp", "date", "time") if k in raw), None)
        kind = kind or ("type" if "min" in raw or "max" in raw else None)
        if kind is None:
            raise ContractError(f"{where}: a matcher needs 'match' (one of {_known()})")
    if kind not in MATCHER_KINDS:
        raise ContractError(f"{where}.match: unknown matcher {kind!r}; known: {_known()}")
    _check_operands(kind, params, where)
    rules: tuple[Matcher, ...] = ()
    variants: tuple[Variant, ...] = ()
    if kind in {"eachKey", "eachValue"}:
        nested = raw.get("rules", [])
        if not isinstance(nested, list):
            raise ContractError(f"{where}.rules: must be a list, got {_kind(nested)}")
        rules = tuple(parse_matcher(m, f"{where}.rules[{i}]") for i, m in enumerate(nested))
    if kind == "arrayContains":
        variants = tuple(_variants(raw.get("variants"), f"{where}.variants"))
    return Matcher(kind, params, rules, variants)


def _check_operands(kind: str, params: Mapping[str, Any], where: str) -> None:
    if kind == "regex":
        problem = regex_problem(params.get("regex"))
        if problem:
            raise ContractError(f"{where}.regex: {problem}")
    if kind in {"include", "contentType", "content-type"} and not isinstance(
        params.get("value"), str
    ):
        raise ContractError(f"{where}.value: the {kind} matcher needs a text value")
    for bound in ("min", "max"):
        value = params.get(bound)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ContractError(f"{where}.{bound}: must be an integer, got {value!r}")


def _variants(raw: Any, where: str) -> Iterator[Variant]:
    if not isinstance(raw, list) or not raw:
        raise ContractError(f"{where}: arrayContains needs a non-empty list of variants")
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("index"), int):
            raise ContractError(f"{at}: a variant needs an integer 'index'")
        rules_raw = item.get("rules", {})
        if not isinstance(rules_raw, Mapping):
            raise ContractError(f"{at}.rules: must be an object")
        rules = {p: _rule_list(r, f"{at}.rules[{p!r}]", p) for p, r in rules_raw.items()}
        yield Variant(item["index"], rules, dict(item.get("generators") or {}))


def _known() -> str:
    return ", ".join(sorted(MATCHER_KINDS - {"real", "content-type", "min", "max"}))


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
