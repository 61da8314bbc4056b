"""Where schemas come from: a local folder (this module) or a registry (``registry.py``).

A folder of schemas is laid out by subject::

    schemas/
      shop.OrderPlaced.avsc      subject "shop.OrderPlaced", a single version (version 1)
      shop.Refunded.json         subject "shop.Refunded", a JSON Schema
      orders-value/              subject "orders-value", with its history
        1.avsc
        2.avsc                   the highest number is the latest version

``.avsc`` files are Avro, ``.json`` files JSON Schema. A reference names a subject
(``shop.OrderPlaced``, meaning its latest version) or one version (``orders-value@1``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from eventharness.model.errors import ConfigError, UsageError
from eventharness.schemas import avro
from eventharness.schemas.validators import AvroValidator, JsonSchemaValidator, Validator

__all__ = [
    "SUFFIXES",
    "Kind",
    "LocalSchemaStore",
    "SchemaStore",
    "StoredSchema",
    "as_validator",
    "kind_of",
    "layout",
    "load_file",
    "make_validator",
    "parse_text",
    "split_ref",
]

Kind = Literal["avro", "json"]
SUFFIXES: dict[str, Kind] = {".avsc": "avro", ".json": "json"}


class SchemaStore(Protocol):
    """Anything that turns a reference (``subject`` or ``subject@version``) into a validator."""

    def validator(self, ref: str) -> Validator: ...


@dataclass(frozen=True, slots=True)
class StoredSchema:
    """One version of one subject: its kind, its parsed JSON, and where it came from."""

    subject: str
    version: int
    kind: Kind
    schema: Any
    source: str  # a file path, or a registry URL
    schema_id: int | None = None  # the registry's global id, when it came from a registry

    def validator(self) -> Validator:
        return make_validator(self.schema, self.kind, f"{self.subject}@{self.version}")


def split_ref(ref: str) -> tuple[str, int | None]:
    """``subject@3`` → (``subject``, 3); ``subject`` or ``subject@latest`` → (``subject``, None)."""
    subject, sep, version = ref.rpartition("@")
    if not sep:
        return ref, None
    if version == "latest":
        return subject, None
    if not version.isdigit():
        raise ConfigError(f"schema reference {ref!r}: the version after '@' must be a number")
    return subject, int(version)


def layout(paths: Iterable[str]) -> dict[str, dict[int, str]]:
    """Subjects and their versions from relative file paths (``/``-separated), per the layout."""
    subjects: dict[str, dict[int, str]] = {}
    for rel in paths:
        parts = rel.split("/")
        stem, suffix = os.path.splitext(parts[-1])
        if suffix not in SUFFIXES:
            continue
        if len(parts) == 1:
            subjects.setdefault(stem, {})[1] = rel
        elif len(parts) == 2 and stem.isdigit():
            subjects.setdefault(parts[0], {})[int(stem)] = rel
    return subjects


def kind_of(path: str) -> Kind:
    return SUFFIXES[os.path.splitext(path)[1]]


MAX_DEPTH = 100  # levels of JSON nesting: 50 levels of "properties", jsonschema recurses per level
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def parse_text(text: str, where: str) -> Any:
    """The JSON in ``text``; ConfigError naming ``where`` (and the line) when it is not JSON or
    is nested more than :data:`MAX_DEPTH` levels deep (found before parsing, which recurses)."""
    depth = 0
    for token in _TOKEN.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, token.start()) + 1
                raise ConfigError(
                    f"{where}:{line}: nested more than {MAX_DEPTH} levels deep; "
                    "flatten the schema ($defs and $ref)"
                )
        elif bracket in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc})") from exc


def make_validator(schema: Any, kind: Kind, name: str) -> Validator:
    if kind == "avro":
        return AvroValidator(schema, name=name)
    return JsonSchemaValidator(schema, name=name)


class LocalSchemaStore:
    """Schemas in a folder laid out as the module docstring shows. Files are read once."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._validators: dict[str, Validator] = {}
        self._subjects: dict[str, dict[int, str]] | None = None

    def subjects(self) -> dict[str, dict[int, str]]:
        """Every subject with its versions (version → path relative to the root)."""
        if self._subjects is None:
            if not self.root.is_dir():
                raise ConfigError(
                    f"schema folder {str(self.root)!r} does not exist: create it or point "
                    "--dir / [tool.eventharness] schemas at your schemas"
                )
            files = [
                p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()
            ]
            self._subjects = layout(sorted(files))
        return self._subjects

    def get(self, ref: str) -> StoredSchema:
        subject, version = split_ref(ref)
        versions = self.subjects().get(subject)
        if not versions:
            known = ", ".join(sorted(self.subjects())) or "none"
            raise ConfigError(
                f"schema {ref!r} not found in {self.root}/ (looked for {subject}.avsc, "
                f"{subject}.json and {subject}/<version>.avsc|.json); subjects there: {known}"
            )
        if version is None:
            version = max(versions)
        if version not in versions:
            have = ", ".join(str(v) for v in sorted(versions))
            raise ConfigError(
                f"schema {ref!r}: subject {subject!r} in {self.root}/ has no version {version} "
                f"(versions: {have})"
            )
        rel = versions[version]
        path = self.root / rel
        schema = parse_text(path.read_text(encoding="utf-8"), str(path))
        return StoredSchema(subject, version, kind_of(rel), schema, str(path))

    def validator(self, ref: str) -> Validator:
        found = self._validators.get(ref)
        if found is None:
            stored = self.get(ref)
            try:
                found = stored.validator()
            except UsageError as exc:
                raise ConfigError(f"{stored.source}: {exc}") from exc
            self._validators[ref] = found
        return found


def load_file(path: str | os.PathLike[str]) -> Validator:
    """A validator for one ``.avsc`` or ``.json`` schema file."""
    p = Path(path)
    if p.suffix not in SUFFIXES:
        raise ConfigError(f"{p}: schema files end in .avsc (Avro) or .json (JSON Schema)")
    schema = parse_text(p.read_text(encoding="utf-8"), str(p))
    try:
        return make_validator(schema, SUFFIXES[p.suffix], p.stem)
    except UsageError as exc:
        raise ConfigError(f"{p}: {exc}") from exc


def as_validator(
    spec: str | Mapping[str, Any] | Validator | list[Any], store: SchemaStore | None = None
) -> Validator:
    """What a ``schema=`` option means, as a validator.

    * a validator: itself;
    * a mapping: a JSON Schema, or an Avro schema when it is an Avro named type/union;
    * a string: a path to an existing ``.avsc``/``.json`` file, else a reference in ``store``.
    """
    if isinstance(spec, Validator) and not isinstance(spec, (str, Mapping)):
        return spec
    if isinstance(spec, list):
        return AvroValidator(spec)
    if isinstance(spec, Mapping):
        return AvroValidator(spec) if avro.is_avro(spec) else JsonSchemaValidator(spec)
    if isinstance(spec, str):
        if spec.endswith(tuple(SUFFIXES)) and Path(spec).is_file():
            return load_file(spec)
        if store is None:
            raise ConfigError(
                f"schema {spec!r}: no such file, and no schema folder or registry is configured "
                'to look the subject up in (set [tool.eventharness] schemas = "schemas")'
            )
        return store.validator(spec)
    raise UsageError(
        f"expected a schema (mapping), a subject name or a validator, got {type(spec).__name__}"
    )
