"""YAML read with line numbers: every mapping and sequence remembers where it and its items are.

data, problems = read_yaml(text, "scenarios/x.yaml")   # syntax errors come back as problems
line_of(data["steps"], 2)                               # the line of the third step

Hostile input is refused while the file is composed, before anything walks the data: values
nested more than :data:`MAX_DEPTH` levels deep (counting what aliases bring in), and aliases
that together stand for more than :data:`MAX_ALIASED` nodes (a "billion laughs" bomb: 400 bytes
that stand for 9^9 values).
"""

from __future__ import annotations

from typing import Any

import yaml

from eventharness.model.problems import line_of  # re-exported: the files' own lines

__all__ = ["MAX_ALIASED", "MAX_DEPTH", "Listed", "Mapped", "line_of", "read_yaml"]

MAX_DEPTH = 100  # levels of nesting; scenario files need a handful, payloads a few dozen
MAX_ALIASED = 100_000  # nodes aliases stand for, all together; light reuse needs hundreds


class Mapped(dict[Any, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    lines: dict[Any, int]


class Listed(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    line: int = 0
    lines: list[int]


class _TooBig(Exception):
    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1
        self.message = message


class _Loader(yaml.SafeLoader):
    """Counts, as it composes, how deep each node goes and how many nodes it stands for
    (aliases included), so neither Python's recursion limit nor an alias bomb is reached."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, Any]] = []
        self.depth = 0  # of the node being composed
        self.aliased = 0  # nodes the aliases so far stand for
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) → (nodes, levels of collections)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self.sizes.get(id(node))
            if size is None:  # the alias is inside the value it names
                raise _TooBig(mark, "an alias refers to the value it is in; write the value out")
            nodes, levels = size
            self.aliased += nodes
            if self.aliased > MAX_ALIASED:
                raise _TooBig(
                    mark,
                    f"YAML aliases expand to more than {MAX_ALIASED:,} nodes (an alias bomb?); "
                    "write the values out or use fewer aliases",
                )
            if self.depth + levels > MAX_DEPTH:
                raise _TooBig(mark, _too_deep())
            return node
        if self.check_event(yaml.ScalarEvent):
            node = super().compose_node(parent, index)
            self.sizes[id(node)] = (1, 0)
            return node
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooBig(mark, _too_deep())
        node = super().compose_node(parent, index)
        self.depth -= 1
        children: list[Any] = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        sizes = [self.sizes[id(child)] for child in children]
        self.sizes[id(node)] = (
            1 + sum(nodes for nodes, _ in sizes),
            1 + max((levels for _, levels in sizes), default=0),
        )
        return node


def _too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep; flatten the value"


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Mapped:
    own = sum(key.tag != "tag:yaml.org,2002:merge" for key, _ in node.value)
    loader.flatten_mapping(node)  # merged (``<<: *anchor``) pairs first: the own ones win
    merged = len(node.value) - own
    data = Mapped()
    data.line = node.start_mark.line + 1
    data.lines = {}
    written: set[Any] = set()
    for i, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if i >= merged:
            if key in written:
                loader.duplicate_keys.append((key_node.start_mark.line + 1, key))
            written.add(key)
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


def read_yaml(text: str, path: str) -> tuple[Any, list[str]]:
    """Parse ``text``; (data, problems). Syntax errors come back as problems with their line."""
    try:
        loader = _Loader(text)  # the reader refuses control characters here, before parsing
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return None, [f"{path}:{line}: character #x{exc.character:04x} is not allowed in YAML"]
    try:
        data = loader.get_single_data()
    except _TooBig as exc:
        return None, [f"{path}:{exc.line}: {exc.message}"]
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
