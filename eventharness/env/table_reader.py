"""Reading the values of a config file's tables (:class:`TableReader`): text tables, durations,
whole numbers, flags, optional text and paths, each error naming the file, the key and the
fix; and :func:`did_you_mean` for unknown keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eventharness.engine.templates import parse_duration
from eventharness.model.errors import ConfigError
from eventharness.model.problems import closest

__all__ = ["TableReader", "did_you_mean"]


def did_you_mean(word: object, options: Iterable[str]) -> str:
    found = closest(word, options)
    return f" (did you mean {found!r}?)" if found else ""


class TableReader:
    """Reads the values of a config file's tables, naming file and key in every error."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.prefix = "tool.eventharness." if file.name == "pyproject.toml" else ""

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.prefix}{key}: {message}")

    def known_keys(
        self, where: str, table: Mapping[str, Any], allowed: Iterable[str], has: str
    ) -> None:
        """Refuse the first key of ``table`` not in ``allowed``, with the closest one and
        ``has`` (what the table may hold: "a profile has: ...")."""
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else str(key),
                    f"unknown key{did_you_mean(key, allowed)}; {has}",
                )

    def strings(self, where: str, raw: Any) -> dict[str, str]:
        if not isinstance(raw, Mapping):
            raise self.fail(where, "must be a table of names to text values")
        out: dict[str, str] = {}
        for key, value in raw.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, str | int | float):
                raise self.fail(f"{where}.{key}", f"must be text, got {value!r}")
            out[str(key)] = str(value)
        return out

    def duration(self, where: str, table: Mapping[str, Any], key: str, default: float) -> float:
        if key not in table:
            return default
        try:
            return parse_duration(table[key])
        except ValueError as exc:
            raise self.fail(f"{where}.{key}", str(exc)) from None

    def number(self, where: str, table: Mapping[str, Any], key: str, default: int) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.fail(f"{where}.{key}", f"must be a whole number ≥ 1, got {value!r}")
        return value

    def flag(self, where: str, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false, got {value!r}")
        return value

    def optional_text(self, where: str, table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{where}.{key}", f"must be text, got {value!r}")
        return value

    def path_text(self, where: str, table: Mapping[str, Any], key: str) -> str | None:
        value = self.optional_text(where, table, key)
        return None if value is None else str(self.file.parent / value)
