r"""A string that a regular expression matches, for the ``Regex`` generator.

The pattern is only *parsed* with Python's regex parser (no matching, so no backtracking on
user input); the string is built by walking the parse tree with a seeded ``random.Random`` and
then checked with RE2. Unbounded repeats (``*``, ``+``, ``{n,}``) are capped at a few items.
Anchors and word boundaries are accepted and produce nothing; backreferences and lookaround
cannot be generated and raise :class:`RegexGenerationError`.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

import re2  # type: ignore[import-untyped]

__all__ = ["RegexGenerationError", "string_for"]

_parser: Any = getattr(re, "_parser", None)
_constants: Any = getattr(re, "_constants", None)

_MAX_EXTRA = 4
_CATEGORIES = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_NOT_DIGIT": string.ascii_letters,
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits,
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_NOT_WORD": "-.,!",
}
_PRINTABLE = string.ascii_letters + string.digits


class RegexGenerationError(ValueError):
    """The pattern cannot be parsed, or no string could be generated for it."""


def string_for(pattern: str, rng: random.Random) -> str:
    """A string ``pattern`` matches in full (checked with RE2)."""
    try:
        tree = _parser.parse(pattern)
    except re.error as exc:
        raise RegexGenerationError(f"bad regex {pattern!r}: {exc}") from None
    try:
        program = re2.compile(pattern)
    except re2.error as exc:
        raise RegexGenerationError(f"regex {pattern!r} is not RE2 syntax: {exc}") from None
    for _ in range(20):
        text = "".join(_emit(tree, rng))
        if program.fullmatch(text) is not None:
            return text
    raise RegexGenerationError(f"could not generate a string matching {pattern!r}")


def _emit(items: Any, rng: random.Random) -> list[str]:
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append(rng.choice([c for c in _PRINTABLE if ord(c) != arg]))
        elif name == "ANY":
            out.append(rng.choice(_PRINTABLE))
        elif name == "IN":
            out.append(_from_set(arg, rng))
        elif name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, body = arg
            top = low + _MAX_EXTRA if high == _constants.MAXREPEAT else high
            for _ in range(rng.randint(low, max(low, top))):
                out.extend(_emit(body, rng))
        elif name == "SUBPATTERN":
            out.extend(_emit(arg[-1], rng))
        elif name == "ATOMIC_GROUP":
            out.extend(_emit(arg, rng))
        elif name == "BRANCH":
            out.extend(_emit(rng.choice(arg[1]), rng))
        elif name == "AT":
            continue
        elif name == "CATEGORY":
            out.append(rng.choice(_CATEGORIES.get(str(arg), _PRINTABLE)))
        else:
            raise RegexGenerationError(f"cannot generate text for the regex construct {name}")
    return out


def _from_set(items: Any, rng: random.Random) -> str:
    chars: list[str] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(arg))
        elif name == "RANGE":
            low, high = arg
            chars.extend(chr(c) for c in range(low, min(high, low + 200) + 1))
        elif name == "CATEGORY":
            chars.extend(_CATEGORIES.get(str(arg), _PRINTABLE))
    if negate:
        excluded = set(chars)
        chars = [c for c in _PRINTABLE if c not in excluded]
    if not chars:
        raise RegexGenerationError("a character class with no printable member")
    return rng.choice(chars)
