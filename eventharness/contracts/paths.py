"""Pact path expressions (``$.a.b``, ``$.a[*]``, ``$.a.*``, ``$['x.y']``) and their weighting.

A matching rule or generator is keyed by a path expression. A value in a message body has a
concrete path: the root ``$`` followed by map keys and list indexes. An expression applies to a
concrete path when each of its tokens matches the path's token at the same place; the
expression may be shorter than the path (a rule on ``$.animals`` reaches every value under it:
that is how type matchers cascade). The weight of the match is the product of the token
weights — 2 for an exact key or index, 1 for ``*`` or ``[*]`` — and the heaviest expression
wins; between equal weights the longer expression does. This is the specification's rule (V3
§"Matching Rules", V4 unchanged) and the reference implementation's ``calc_path_weight``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PathStep",
    "PathToken",
    "format_path",
    "parse_path",
    "path_weight",
]

# One step of a concrete path: a map key or a list index.
PathStep = str | int

_IDENT = re.compile(r"[^.\[\]'\"\s]+")
_SIMPLE_KEY = re.compile(r"[A-Za-z_@#$-][A-Za-z0-9_@#$:-]*")


@dataclass(frozen=True, slots=True)
class PathToken:
    """One token of an expression: ``kind`` is ``root``, ``field``, ``index``, ``star``
    (``.*``, any key or index) or ``star_index`` (``[*]``, any index)."""

    kind: str
    name: str = ""
    index: int = -1


ROOT = PathToken("root")


def parse_path(expression: str) -> tuple[PathToken, ...]:
    """The tokens of a path expression; raises ``ValueError`` saying where it went wrong.

    ``$`` may be omitted (``a.b`` reads as ``$.a.b``), as the reference implementation allows.
    """
    text = expression.strip()
    tokens: list[PathToken] = [ROOT]
    i = 0
    if text.startswith("$"):
        i = 1
    elif text and text[0] not in ".[":
        text = "." + text
    while i < len(text):
        ch = text[i]
        if ch == ".":
            i += 1
            if i < len(text) and text[i] == "*":
                tokens.append(PathToken("star"))
                i += 1
                continue
            m = _IDENT.match(text, i)
            if m is None:
                raise ValueError(f"expected a name after '.' at position {i} of {expression!r}")
            tokens.append(PathToken("field", name=m.group(0)))
            i = m.end()
        elif ch == "[":
            end = _closing_bracket(text, i, expression)
            inner = text[i + 1 : end].strip()
            i = end + 1
            if inner == "*":
                tokens.append(PathToken("star_index"))
            elif inner.isdigit():
                tokens.append(PathToken("index", index=int(inner)))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                tokens.append(PathToken("field", name=inner[1:-1]))
            else:
                raise ValueError(
                    f"expected an index, * or a quoted name in [{inner}] of {expression!r}"
                )
        else:
            raise ValueError(f"unexpected {ch!r} at position {i} of {expression!r}")
    return tuple(tokens)


def _closing_bracket(text: str, start: int, expression: str) -> int:
    quote = ""
    for j in range(start + 1, len(text)):
        ch = text[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return j
    raise ValueError(f"unclosed '[' at position {start} of {expression!r}")


def _token_weight(token: PathToken, step: PathStep) -> int:
    if token.kind == "field":
        return 2 if str(step) == token.name else 0
    if token.kind == "index":
        return 2 if _as_index(step) == token.index else 0
    if token.kind == "star_index":
        return 1 if _as_index(step) is not None else 0
    if token.kind == "star":
        return 1
    return 0


def _as_index(step: PathStep) -> int | None:
    if isinstance(step, int):
        return step
    return int(step) if step.isdigit() else None


def path_weight(tokens: Sequence[PathToken], path: Sequence[PathStep]) -> int:
    """How strongly ``tokens`` applies to the concrete ``path`` (which excludes the root):
    0 when it does not apply, else the product of token weights (root counts 2)."""
    rest = tokens[1:]
    if len(rest) > len(path):
        return 0
    weight = 2
    for token, step in zip(rest, path, strict=False):
        weight *= _token_weight(token, step)
        if weight == 0:
            return 0
    return weight


def format_path(path: Sequence[PathStep]) -> str:
    """A concrete path as a JSON path: ``$.animals[1].phoneNumber``, ``$['x.y']``."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _SIMPLE_KEY.fullmatch(step):
            parts.append(f".{step}")
        else:
            escaped = step.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)
