"""YAML read with line numbers: every mapping and sequence remembers where it and its items are.

data, problems = read_yaml(text, "scenarios/x.yaml")   # syntax errors come back as problems
line_of(data["steps"], 2)                               # the line of the third step
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["Listed", "Mapped", "line_of", "read_yaml"]


class Mapped(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class Listed(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 0
    lines: list[int]


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, Any]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Mapped:
    loader.flatten_mapping(node)
    data = Mapped()
    data.line = node.start_mark.line + 1
    data.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in data:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, key))
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1
    return data


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> Listed:
    data = Listed(loader.construct_object(child, deep=True) for child in node.value)
    data.line = node.start_mark.line + 1
    data.lines = [child.start_mark.line + 1 for child in node.value]
    return data


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def line_of(container: Any, key: Any = None) -> int:
    """The line of ``container[key]`` (or of the container), 0 when unknown."""
    if key is not None:
        if isinstance(container, Mapped):
            return container.lines.get(key, container.line)
        if isinstance(container, Listed) and isinstance(key, int) and key < len(container.lines):
            return container.lines[key]
    return int(getattr(container, "line", 0))


def read_yaml(text: str, path: str) -> tuple[Any, list[str]]:
    """Parse ``text``; (data, problems). Syntax errors come back as problems with their line."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [f"{path}:{line}: YAML syntax error: {what}"]
    except yaml.YAMLError as exc:
        return None, [f"{path}:1: YAML error: {exc}"]
    finally:
        loader.dispose()
    problems = [
        f"{path}:{line}: key {key!r} appears twice in one mapping; keep one"
        for line, key in loader.duplicate_keys
    ]
    return data, problems
