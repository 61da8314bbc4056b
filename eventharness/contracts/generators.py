"""Pact generators: values a provider (or a stub) puts in place of the example at a path.

Read from a pact's ``generators`` (``{"body": {"$.id": {"type": "Uuid"}}, "metadata": {...}}``;
V4 message pacts may call the body category ``content``) and applied with :func:`generate`,
which is seedable: the same seed, example and clock give the same message. Supported:
``Uuid``, ``RandomInt``, ``RandomDecimal``, ``RandomString``, ``RandomHexadecimal``,
``RandomBoolean``, ``Regex``, ``Date``, ``Time``, ``DateTime``, ``ProviderState``;
``MockServerURL`` (HTTP only) is read and leaves the example as it is.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.contracts import datetimes
from eventharness.contracts.paths import PathStep, parse_path, path_weight
from eventharness.contracts.regexgen import RegexGenerationError, string_for
from eventharness.model.errors import ContractError

__all__ = [
    "GENERATOR_KINDS",
    "Generator",
    "Generators",
    "generate",
    "generate_value",
    "parse_generators",
]

GENERATOR_KINDS = frozenset(
    {
        "Uuid",
        "RandomInt",
        "RandomDecimal",
        "RandomString",
        "RandomHexadecimal",
        "RandomBoolean",
        "Regex",
        "Date",
        "Time",
        "DateTime",
        "ProviderState",
        "MockServerURL",
    }
)


@dataclass(frozen=True)
class Generator:
    """One generator: ``kind`` is its ``type``; ``params`` the other keys as written."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.kind, **self.params}


@dataclass(frozen=True)
class Generators:
    """Generators by category (``body``, ``metadata``...) and path or name."""

    categories: Mapping[str, Mapping[str, Generator]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.categories.values())

    def category(self, name: str) -> Mapping[str, Generator]:
        return self.categories.get(name, {})

    def to_json(self, body_category: str = "body") -> dict[str, Any]:
        return {
            (body_category if name == "body" else name): {k: g.to_json() for k, g in gens.items()}
            for name, gens in self.categories.items()
            if gens
        }


def parse_generators(raw: Any, where: str) -> Generators:
    """Read a ``generators`` object; unknown types and bad paths name their JSON path."""
    if raw is None:
        return Generators()
    if not isinstance(raw, Mapping):
        raise ContractError(f"{where}: generators must be an object")
    categories: dict[str, dict[str, Generator]] = {}
    for name, entries in raw.items():
        category = "body" if name == "content" else name
        at = f"{where}.{name}"
        if not isinstance(entries, Mapping):
            raise ContractError(f"{at}: a category must be an object")
        target = categories.setdefault(category, {})
        for key, spec in entries.items():
            if category == "body":
                try:
                    parse_path(key)
                except ValueError as exc:
                    raise ContractError(f"{at}[{key!r}]: bad path expression: {exc}") from None
            target[key] = parse_generator(spec, f"{at}[{key!r}]")
    return Generators(categories)


def parse_generator(raw: Any, where: str) -> Generator:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("type"), str):
        raise ContractError(f"{where}: a generator needs a 'type' ({_known()})")
    kind = raw["type"]
    if kind not in GENERATOR_KINDS:
        raise ContractError(f"{where}.type: unknown generator {kind!r}; known: {_known()}")
    params = {k: v for k, v in raw.items() if k != "type"}
    if kind == "Regex":
        try:
            string_for(str(params.get("regex", "")), random.Random(0))
        except RegexGenerationError as exc:
            raise ContractError(f"{where}.regex: {exc}") from None
    if kind in {"Date", "Time", "DateTime"} and params.get("format"):
        try:
            datetimes.parse_format(params["format"])
        except ValueError as exc:
            raise ContractError(f"{where}.format: {exc}") from None
    return Generator(kind, params)


def _known() -> str:
    return ", ".join(sorted(GENERATOR_KINDS))


def generate_value(
    gen: Generator,
    example: Any,
    rng: random.Random,
    *,
    now: dt.datetime,
    state: Mapping[str, Any],
) -> Any:
    """The value ``gen`` produces in place of ``example``."""
    p = gen.params
    kind = gen.kind
    if kind == "Uuid":
        value = uuid.UUID(int=rng.getrandbits(128), version=4)
        fmt = p.get("format", "lower-case-hyphenated")
        return {
            "simple": value.hex,
            "upper-case-hyphenated": str(value).upper(),
            "URN": value.urn,
        }.get(fmt, str(value))
    if kind == "RandomInt":
        return rng.randint(int(p.get("min", 0)), int(p.get("max", 2147483647)))
    if kind == "RandomDecimal":
        digits = max(int(p.get("digits", 6)), 2)
        text = str(rng.randint(1, 9)) + "".join(
            rng.choice(string.digits) for _ in range(digits - 1)
        )
        point = rng.randint(1, digits - 1)
        return float(text[:point] + "." + text[point:])
    if kind == "RandomString":
        size = int(p.get("size", 20))
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(size))
    if kind == "RandomHexadecimal":
        return "".join(rng.choice("0123456789abcdef") for _ in range(int(p.get("digits", 10))))
    if kind == "RandomBoolean":
        return rng.random() < 0.5
    if kind == "Regex":
        return string_for(str(p.get("regex", "")), rng)
    if kind in {"Date", "Time", "DateTime"}:
        when = _shift(now, p.get("expression"))
        return datetimes.format_now(kind.lower(), p.get("format"), when)
    if kind == "ProviderState":
        return _from_state(str(p.get("expression", "")), p.get("dataType"), state, example)
    return example


_SHIFT = re.compile(r"\s*([+-])\s*(\d+)\s*(second|minute|hour|day|week)s?\s*", re.IGNORECASE)


def _shift(now: dt.datetime, expression: Any) -> dt.datetime:
    """``now`` moved by a simple expression (``+1 day``, ``- 2 hours``, ``now``, ``today``)."""
    if not expression:
        return now
    text = str(expression).strip().lower()
    for base in ("now", "today"):
        if text.startswith(base):
            text = text[len(base) :]
    pos, when = 0, now
    while pos < len(text):
        m = _SHIFT.match(text, pos)
        if m is None:
            raise ContractError(f"date expression {expression!r} is not supported (use '+1 day')")
        sign = 1 if m.group(1) == "+" else -1
        when += sign * dt.timedelta(**{m.group(3).lower() + "s": int(m.group(2))})
        pos = m.end()
    return when


_EXPR = re.compile(r"\$\{([^}]*)\}")


def _from_state(expression: str, data_type: Any, state: Mapping[str, Any], example: Any) -> Any:
    whole = _EXPR.fullmatch(expression)
    if whole and whole.group(1).strip() in state:
        value: Any = state[whole.group(1).strip()]
    else:

        def sub(m: re.Match[str]) -> str:
            name = m.group(1).strip()
            if name not in state:
                raise ContractError(f"provider state has no value for ${{{name}}}")
            return str(state[name])

        value = _EXPR.sub(sub, expression)
    converters: dict[str, Callable[[Any], Any]] = {
        "STRING": str,
        "INTEGER": int,
        "DECIMAL": float,
        "FLOAT": float,
        "BOOLEAN": lambda v: str(v).lower() == "true" if isinstance(v, str) else bool(v),
    }
    convert = converters.get(str(data_type or "RAW").upper())
    return convert(value) if convert else value


def generate(
    value: Any,
    generators: Mapping[str, Generator],
    *,
    seed: int | None = None,
    now: dt.datetime | None = None,
    state: Mapping[str, Any] | None = None,
) -> Any:
    """A copy of the body ``value`` with every generator applied at the paths it names."""
    rng = random.Random(seed)
    clock = now or dt.datetime.now(dt.UTC)
    out = copy.deepcopy(value)
    for expression in sorted(generators):
        tokens = parse_path(expression)
        gen = generators[expression]
        out = _apply(out, [], tokens, gen, rng, clock, state or {})
    return out


def _apply(
    node: Any,
    path: list[PathStep],
    tokens: Any,
    gen: Generator,
    rng: random.Random,
    now: dt.datetime,
    state: Mapping[str, Any],
) -> Any:
    if len(path) == len(tokens) - 1:
        if path_weight(tokens, path):
            return generate_value(gen, node, rng, now=now, state=state)
        return node
    if isinstance(node, dict):
        return {k: _apply(v, [*path, k], tokens, gen, rng, now, state) for k, v in node.items()}
    if isinstance(node, list):
        return [_apply(v, [*path, i], tokens, gen, rng, now, state) for i, v in enumerate(node)]
    return node
