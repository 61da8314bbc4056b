"""Date and time formats as Pact writes them (Java ``DateTimeFormatter`` patterns).

``yyyy-MM-dd'T'HH:mm:ss.SSSXXX`` is translated to a ``strptime``/``strftime`` format once;
letters outside the supported set raise ``ValueError`` naming the letter, and the rule parser
turns that into a :class:`ContractError` with the JSON path. Without a format, ISO 8601 is used.
"""

from __future__ import annotations

import datetime as dt
import functools

__all__ = ["format_now", "parse_format", "validate"]

# Java pattern letter runs -> strftime directives (by run length; the last entry covers longer).
_LETTERS: dict[str, tuple[str, ...]] = {
    "y": ("%Y", "%y", "%Y", "%Y"),
    "u": ("%Y", "%y", "%Y", "%Y"),
    "M": ("%m", "%m", "%b", "%B"),
    "L": ("%m", "%m", "%b", "%B"),
    "d": ("%d", "%d"),
    "D": ("%j", "%j", "%j"),
    "H": ("%H", "%H"),
    "k": ("%H", "%H"),
    "h": ("%I", "%I"),
    "K": ("%I", "%I"),
    "m": ("%M", "%M"),
    "s": ("%S", "%S"),
    "S": ("%f",),
    "n": ("%f",),
    "a": ("%p",),
    "E": ("%a", "%a", "%a", "%A"),
    "e": ("%a", "%a", "%a", "%A"),
    "Z": ("%z", "%z", "%z", "%z", "%z"),
    "X": ("%z", "%z", "%z", "%z", "%z"),
    "x": ("%z", "%z", "%z", "%z", "%z"),
    "z": ("%Z", "%Z", "%Z", "%Z"),
    "V": ("%Z", "%Z"),
}


@functools.lru_cache(maxsize=256)
def parse_format(pattern: str) -> str:
    """The ``strptime`` format for a Java pattern; ``ValueError`` on what it cannot express."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"unclosed quote in date format {pattern!r}")
            literal = pattern[i + 1 : end] or "'"
            out.append(literal.replace("%", "%%"))
            i = end + 1
        elif ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            choices = _LETTERS.get(ch)
            if choices is None:
                raise ValueError(f"date format letter {ch!r} of {pattern!r} is not supported")
            out.append(choices[min(j - i, len(choices)) - 1])
            i = j
        else:
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def validate(kind: str, text: str, pattern: str | None) -> str | None:
    """Why ``text`` is not a ``kind`` (date, time, datetime) of ``pattern``; None when it is."""
    try:
        if pattern:
            dt.datetime.strptime(text, parse_format(pattern))
        elif kind == "date":
            dt.date.fromisoformat(text)
        elif kind == "time":
            dt.time.fromisoformat(text)
        else:
            dt.datetime.fromisoformat(text)
    except ValueError as exc:
        return str(exc)
    return None


def format_now(kind: str, pattern: str | None, now: dt.datetime) -> str:
    """``now`` written as a ``kind`` in ``pattern`` (ISO 8601 without one)."""
    if pattern:
        text = now.strftime(parse_format(pattern))
        return text
    if kind == "date":
        return now.date().isoformat()
    if kind == "time":
        return now.time().replace(microsecond=0).isoformat()
    return now.replace(microsecond=0).isoformat()
