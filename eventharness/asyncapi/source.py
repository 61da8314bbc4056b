"""AsyncAPI documents as read: YAML or JSON with the line of every value, and ``$ref``s.

    source = Source.open("docs/asyncapi.yaml")        # AsyncApiError naming file:line
    node = source.root                                 # the document's top mapping
    found = source.follow(node["channels"]["x"])      # a Node, its ``$ref`` chain followed
    schema = source.inline(found)                      # plain data, every ``$ref`` replaced

A ``$ref`` is a JSON pointer into the same document (``#/components/messages/x``), or a
relative path to a local file with an optional pointer (``schemas/order.yaml#/Order``). Files
are read once. A ref that points at nothing, or a chain of refs that loops, is an error naming
the file and line of the ``$ref``. Remote (``http(s)://``) refs are not fetched: an error says
so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from eventharness.files.lines import read_yaml
from eventharness.model.errors import AsyncApiError
from eventharness.model.problems import line_of

__all__ = ["MAX_INLINE_DEPTH", "Node", "Source", "is_ref"]

MAX_INLINE_DEPTH = 64  # nested $refs inlined into one schema (a recursive schema stops here)


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("$ref"), str)


@dataclass(frozen=True)
class Node:
    """A value of a document, with the file it is in and its line."""

    value: Any
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def child(self, key: Any) -> Node | None:
        """``value[key]`` as a node (None when absent or when this is not a container)."""
        value = self.value
        if isinstance(value, Mapping):
            if key not in value:
                return None
        elif isinstance(value, list):
            if not isinstance(key, int) or not 0 <= key < len(value):
                return None
        else:
            return None
        return Node(value[key], self.file, line_of(value, key) or self.line)

    def items(self) -> list[tuple[Any, Node]]:
        """The (key, node) pairs of a mapping; ``[]`` for anything else."""
        if not isinstance(self.value, Mapping):
            return []
        return [
            (key, Node(v, self.file, line_of(self.value, key) or self.line))
            for key, v in self.value.items()
        ]

    def entries(self) -> list[Node]:
        """The items of a list as nodes; ``[]`` for anything else."""
        if not isinstance(self.value, list):
            return []
        return [
            Node(v, self.file, line_of(self.value, i) or self.line)
            for i, v in enumerate(self.value)
        ]


@dataclass
class Source:
    """The files of one document: the main one and every local file its refs lead to."""

    path: Path
    root: Node
    files: dict[Path, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> Source:
        file = Path(path)
        data = _read(file, None)
        if not isinstance(data, Mapping):
            raise AsyncApiError(
                [
                    f"{file}:1: an AsyncAPI document is a mapping (asyncapi: 3.0.0, "
                    "info, channels, ...)"
                ]
            )
        source = cls(file, Node(data, str(file), line_of(data) or 1))
        source.files[file.resolve()] = data
        return source

    def follow(self, node: Node) -> Node:
        """``node`` itself, or what its ``$ref`` (chain) points at."""
        seen: list[str] = []
        while is_ref(node.value):
            ref = str(node.value["$ref"])
            key = f"{node.file}|{ref}"
            if key in seen:
                raise AsyncApiError([f"{node.where}: $ref {ref!r} loops back to itself"])
            seen.append(key)
            node = self.target(node, ref)
        return node

    def target(self, node: Node, ref: str) -> Node:
        """What ``ref``, written at ``node``, points at."""
        if ref.startswith(("http://", "https://")):
            raise AsyncApiError(
                [
                    f"{node.where}: $ref {ref!r} is remote; remote refs are not "
                    "fetched: download the file and refer to it by a relative path"
                ]
            )
        file_part, _, pointer = ref.partition("#")
        if file_part:
            path = Path(node.file).parent / unquote(file_part)
            resolved = path.resolve()
            if resolved not in self.files:
                self.files[resolved] = _read(path, node.where)
            data, file = self.files[resolved], str(path)
        else:
            data, file = self.files[Path(node.file).resolve()], node.file
        here = Node(data, file, line_of(data) or 1)
        for part in _pointer(pointer):
            key: Any = part
            if isinstance(here.value, list) and part.isdigit():
                key = int(part)
            found = here.child(key)
            if found is None:
                raise AsyncApiError(
                    [
                        f"{node.where}: $ref {ref!r} points at nothing ({part!r} "
                        f"is not in {file}); fix the pointer or add the value"
                    ]
                )
            here = found
        return here

    def inline(self, node: Node, depth: int = 0) -> Any:
        """``node``'s value as plain data with every ``$ref`` (in any file) replaced by what it
        points at; a recursive schema keeps its ref past :data:`MAX_INLINE_DEPTH` levels."""
        if depth > MAX_INLINE_DEPTH:
            return {}
        node = self.follow(node)
        if isinstance(node.value, Mapping):
            return {key: self.inline(child, depth + 1) for key, child in node.items()}
        if isinstance(node.value, list):
            return [self.inline(child, depth + 1) for child in node.entries()]
        return node.value


def _pointer(pointer: str) -> list[str]:
    if not pointer or pointer == "/":
        return []
    return [
        unquote(p).replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")
    ]


def _read(path: Path, where: str | None) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        what = f"{where}: $ref to {path}" if where else f"{path}"
        raise AsyncApiError([f"{what}: cannot read it: {exc.strerror or exc}"]) from exc
    data, problems = read_yaml(text, str(path))
    if problems:
        raise AsyncApiError(problems)
    return data
