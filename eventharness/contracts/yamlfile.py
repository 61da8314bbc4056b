"""The YAML files of the contracts layer (consumer declarations, provider configs): read with
lines, checked key by key, turned back into plain data.

    data = read_mapping(path, "provider config", "provider, states, ...")
    only(data, {"provider", "states"}, str(path))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventharness.files.lines import Listed, Mapped, line_of, read_yaml
from eventharness.model.errors import ContractError

__all__ = ["only", "plain", "read_mapping", "read_text"]


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def read_mapping(text: str, source: str, what: str, keys: str) -> Mapped:
    """The top-level mapping of a YAML document; ContractError with file:line otherwise."""
    data, problems = read_yaml(text, source)
    if problems:
        raise ContractError(problems[0])
    if not isinstance(data, Mapped):
        raise ContractError(f"{source}:1: a {what} is a mapping ({keys})")
    return data


def only(node: Mapped, allowed: set[str], source: str) -> None:
    """ContractError naming the first key of ``node`` that is not ``allowed``."""
    for key in node:
        if key not in allowed:
            raise ContractError(
                f"{source}:{line_of(node, key)}: unknown key {key!r}; "
                f"expected one of {', '.join(sorted(allowed))}"
            )


def plain(node: Any) -> Any:
    """``node`` without its line bookkeeping: dicts, lists and scalars."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, Listed | list):
        return [plain(v) for v in node]
    return node
