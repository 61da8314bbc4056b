"""Compatibility modes: may a new schema version replace the old ones?

========================  =====================================================================
mode                      the check
========================  =====================================================================
``BACKWARD``              the new schema reads data written with the latest old version
``BACKWARD_TRANSITIVE``   ... with every old version
``FORWARD``               the latest old version reads data written with the new schema
``FORWARD_TRANSITIVE``    every old version reads data written with the new schema
``FULL``                  both, against the latest old version
``FULL_TRANSITIVE``       both, against every old version
``NONE``                  nothing is checked
========================  =====================================================================

The reading rules themselves are in ``avro_compat`` (the Avro specification's schema
resolution) and ``json_compat`` (Confluent's JSON Schema rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eventharness.model.errors import UsageError
from eventharness.schemas import avro_compat, json_compat
from eventharness.schemas.avro import load_json

__all__ = [
    "MODES",
    "Direction",
    "Incompatibility",
    "check_compatibility",
    "check_mode",
    "reader_problems",
]

MODES = (
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
)
Direction = Literal["backward", "forward"]


@dataclass(frozen=True, slots=True)
class Incompatibility:
    """One reason the new schema may not replace an old version.

    ``direction`` says who reads whom: ``backward`` — the new schema (reader) cannot read data
    the old version (writer) wrote; ``forward`` — the old version (reader) cannot read data the
    new schema (writer) writes. ``against`` is the index of that old version in the list given
    (oldest first); ``path`` the data path (``$.customer.email``; ``[]`` array items, ``{}`` map
    values); ``rule`` a short identifier; ``message`` the reason.
    """

    path: str
    direction: Direction
    rule: str
    message: str
    against: int = 0

    @property
    def reader(self) -> str:
        return "new" if self.direction == "backward" else "old"

    @property
    def writer(self) -> str:
        return "old" if self.direction == "backward" else "new"

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.message} "
            f"[{self.direction}: {self.reader} schema reading {self.writer} data] ({self.rule})"
        )


def check_mode(mode: str) -> str:
    upper = mode.upper()
    if upper not in MODES:
        raise UsageError(f"unknown compatibility mode {mode!r}: use one of {', '.join(MODES)}")
    return upper


def reader_problems(reader: Any, writer: Any, kind: str) -> list[avro_compat.Problem]:
    if kind == "avro":
        return avro_compat.reader_problems(load_json(reader), load_json(writer))
    if kind == "json":
        return json_compat.reader_problems(load_json(reader), load_json(writer))
    raise UsageError(f"unknown schema kind {kind!r}: use 'avro' or 'json'")


def check_compatibility(
    new: Any, old_versions: Sequence[Any], mode: str = "BACKWARD", kind: str = "avro"
) -> list[Incompatibility]:
    """Everything that makes ``new`` incompatible with ``old_versions`` (oldest first) in ``mode``.

    An empty list means the change is allowed. Schemas are given as parsed JSON or JSON text.
    """
    mode = check_mode(mode)
    if mode == "NONE" or not old_versions:
        return []
    indexes = range(len(old_versions))
    against = list(indexes) if mode.endswith("_TRANSITIVE") else [len(old_versions) - 1]
    found: list[Incompatibility] = []
    for index in reversed(against):  # newest first: the most relevant break leads
        old = old_versions[index]
        if mode.startswith(("BACKWARD", "FULL")):
            found += [
                Incompatibility(p.path, "backward", p.rule, p.message, index)
                for p in reader_problems(new, old, kind)
            ]
        if mode.startswith(("FORWARD", "FULL")):
            found += [
                Incompatibility(p.path, "forward", p.rule, p.message, index)
                for p in reader_problems(old, new, kind)
            ]
    return found
