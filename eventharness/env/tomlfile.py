"""Finding and reading the configuration file: ``eventharness.toml``, or ``pyproject.toml``
with ``[tool.eventharness]``, as TOML data (:mod:`eventharness.env.config` makes it a Config).

    found = find_config(Path.cwd())      # (path, data) of the nearest one, or None
    data = read_toml(path)               # ConfigError naming the file when it cannot be read

Files nested more than :data:`MAX_DEPTH` levels deep are refused (``tomllib`` recurses once per
level: hundreds of levels would end in a RecursionError).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from eventharness.model.errors import ConfigError

__all__ = ["CONFIG_NAME", "MAX_DEPTH", "find_config", "read_toml"]

CONFIG_NAME = "eventharness.toml"


def find_config(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest eventharness.toml, or pyproject.toml with [tool.eventharness], walking up
    from ``start``. In one folder eventharness.toml wins."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / CONFIG_NAME
        if own.is_file():
            return own, read_toml(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            data = read_toml(pyproject)
            tool = data.get("tool", {}).get("eventharness")
            if tool is not None:
                return pyproject, tool
    return None


MAX_DEPTH = 100  # levels of tables and arrays; a profile needs four or five


def read_toml(path: Path) -> dict[str, Any]:
    too_deep = f"nested more than {MAX_DEPTH} levels deep; flatten the value"
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    except RecursionError:  # tomllib recurses per level: hundreds of them
        raise ConfigError(f"{path}: {too_deep}") from None
    stack: list[tuple[str, Any, int]] = [("", data, 1)]
    while stack:  # not recursive: what is deeper than the limit is what it refuses
        key, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{path}: {key}: {too_deep}")
        items = value.items() if isinstance(value, dict) else ((key, v) for v in value)
        for name, item in items:
            if isinstance(item, dict | list):
                inner = f"{key}.{name}".lstrip(".") if isinstance(value, dict) else key
                stack.append((inner, item, depth + 1))
    return data
