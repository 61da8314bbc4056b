"""Can a JSON Schema (the reader) accept every document another (the writer) accepts?

Follows the rules Confluent Schema Registry documents and implements for JSON Schema:

* content models: an object is *open* (additional properties allowed, the default), *closed*
  (``additionalProperties: false``) or *partially open* (``patternProperties`` or an
  ``additionalProperties`` schema). Removing a property is compatible when the reader is open
  (or its pattern/additional schema covers the old property); adding one is compatible when
  the writer was closed (or partially open and covering it) — and, if the reader requires it,
  only with a default. Adding a constrained property to an open writer is not: old data may
  already carry that name with any value;
* ``required``: newly required properties need a default; dropping a requirement is fine;
* types: the reader may widen (``integer`` → ``number``, ``string`` → ``["string", "null"]``,
  new ``anyOf``/``oneOf`` branches), never narrow;
* ``enum``: values may be added, not removed; adding an enum where there was none narrows;
* bounds: ``maximum``/``maxLength``/``maxItems``/``maxProperties`` may rise or go, ``minimum``/
  ``minLength``/``minItems``/``minProperties`` may fall or go, never the other way or be added;
  ``multipleOf`` may only become a divisor; ``pattern`` and ``uniqueItems`` may only go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.schemas.avro_compat import Problem

__all__ = ["ANNOTATIONS", "reader_problems"]

ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "$comment",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "definitions",
        "$defs",
    }
)
_OBJECT_KEYS = ("properties", "required", "additionalProperties", "patternProperties")
_ARRAY_KEYS = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")
_STRING_KEYS = ("minLength", "maxLength", "pattern")
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    inferred = set()
    for keys, kind in (
        (_OBJECT_KEYS, "object"),
        (_ARRAY_KEYS, "array"),
        (_STRING_KEYS, "string"),
        (_NUMBER_KEYS, "number"),
    ):
        if any(k in schema for k in keys):
            inferred.add(kind)
    return inferred or None


def _accepts(types: set[str] | None, kind: str) -> bool:
    return types is None or kind in types or (kind == "integer" and "number" in types)


@dataclass
class _Differ:
    writer_root: Any
    reader_root: Any
    problems: list[Problem] = field(default_factory=list)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def add(self, path: str, rule: str, message: str) -> None:
        self.problems.append(Problem(path, rule, message))

    def resolve(self, schema: Any, root: Any) -> Any:
        for _ in range(32):  # bounded: chains of $ref
            if not (isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str)):
                return schema
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return {}  # an external reference we cannot follow: treat as accepting all
            target: Any = root
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            schema = target
        return schema

    def compatible(self, writer: Any, reader: Any) -> bool:
        """Would ``compare`` report nothing? (Used to pick union branches.)"""
        probe = _Differ(self.writer_root, self.reader_root, seen=set(self.seen))
        probe.compare(writer, reader, "$")
        return not probe.problems

    def compare(self, writer: Any, reader: Any, path: str) -> None:
        writer = self.resolve(writer, self.writer_root)
        reader = self.resolve(reader, self.reader_root)
        if writer is False or reader is True or _is_empty(reader):
            return
        if reader is False:
            self.add(path, "type:narrowed", "the reader accepts nothing here (false)")
            return
        if writer is True or _is_empty(writer):
            self.add(
                path, "type:narrowed", "the writer allowed any value here; the reader constrains it"
            )
            return
        key = (id(writer), id(reader))
        if key in self.seen:
            return
        self.seen.add(key)
        if "allOf" in reader:
            for part in _conjuncts(reader):
                self.compare(writer, part, path)
            return
        if "allOf" in writer:
            parts = _conjuncts(writer)
            if not any(self.compatible(part, reader) for part in parts):
                self.compare(parts[0], reader, path)
            return
        w_sum = writer.get("anyOf") or writer.get("oneOf")
        r_sum = reader.get("anyOf") or reader.get("oneOf")
        if w_sum is not None:
            for branch in w_sum:
                self.compare({**_rest(writer), **_as_dict(branch)}, reader, path)
            return
        if r_sum is not None:
            options = [{**_rest(reader), **_as_dict(b)} for b in r_sum]
            if not any(self.compatible(writer, option) for option in options):
                self.add(
                    path,
                    "sum-type:narrowed",
                    "no branch of the reader's anyOf/oneOf accepts what the writer sends",
                )
            return
        self.compare_types(writer, reader, path)

    def compare_types(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str
    ) -> None:
        w_types, r_types = _types(writer), _types(reader)
        if r_types is not None:
            if w_types is None:
                kinds = ", ".join(sorted(r_types))
                self.add(
                    path, "type:narrowed", f"the writer allowed any type; the reader only {kinds}"
                )
            else:
                lost = sorted(t for t in w_types if not _accepts(r_types, t))
                if lost:
                    self.add(
                        path,
                        "type:narrowed"
                        if any(_accepts(w_types, t) for t in r_types)
                        else "type:changed",
                        f"the writer may send {', '.join(lost)}; the reader accepts "
                        f"{', '.join(sorted(r_types))}",
                    )
                    return
        self.compare_enum(writer, reader, path)
        both = w_types if r_types is None else r_types if w_types is None else w_types & r_types
        if both is None or "object" in both:
            self.compare_object(writer, reader, path)
        if both is None or "array" in both:
            self.compare_array(writer, reader, path)
        if both is None or "string" in both:
            _bound(self, writer, reader, path, "maxLength", upper=True)
            _bound(self, writer, reader, path, "minLength", upper=False)
            if "pattern" in reader and reader["pattern"] != writer.get("pattern"):
                verb = "changed" if "pattern" in writer else "added"
                self.add(
                    path,
                    f"pattern:{verb}",
                    f"the reader's pattern {reader['pattern']!r} "
                    f"was {verb}; values the writer allows may not match it",
                )
        if both is None or "number" in both or "integer" in both:
            self.compare_number(writer, reader, path)

    def compare_enum(self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str) -> None:
        r_values = _enum(reader)
        if r_values is None:
            return
        w_values = _enum(writer)
        if w_values is None:
            self.add(
                path,
                "enum:added",
                f"the reader restricts values to {r_values!r}; the writer had no such restriction",
            )
            return
        lost = [v for v in w_values if v not in r_values]
        if lost:
            self.add(
                path,
                "enum:narrowed",
                f"the writer may send {lost!r}, which the reader's "
                f"enum {r_values!r} does not allow",
            )

    def compare_number(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str
    ) -> None:
        _bound(self, writer, reader, path, "maximum", upper=True)
        _bound(self, writer, reader, path, "minimum", upper=False)
        _bound(self, writer, reader, path, "exclusiveMaximum", upper=True)
        _bound(self, writer, reader, path, "exclusiveMinimum", upper=False)
        r_mult, w_mult = reader.get("multipleOf"), writer.get("multipleOf")
        if r_mult is not None:
            if w_mult is None:
                self.add(path, "multipleOf:added", f"the reader requires multiples of {r_mult}")
            elif (w_mult / r_mult) != int(w_mult / r_mult):
                self.add(
                    path,
                    "multipleOf:changed",
                    f"multiples of {w_mult} written are not all multiples of {r_mult}",
                )

    def compare_object(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str
    ) -> None:
        w_props: Mapping[str, Any] = writer.get("properties", {})
        r_props: Mapping[str, Any] = reader.get("properties", {})
        w_required = set(writer.get("required", ()))
        r_required = set(reader.get("required", ()))
        for name in sorted(set(w_props) | set(r_props)):
            where = _child(path, name)
            if name in w_props and name in r_props:
                self.compare(w_props[name], r_props[name], where)
                if (
                    name in r_required
                    and name not in w_required
                    and not _has_default(r_props[name], self, self.reader_root)
                ):
                    self.add(
                        where,
                        "required:added",
                        f"{name!r} is now required and has no default; the writer may leave it out",
                    )
            elif name in w_props:
                self.property_removed(writer, reader, name, where)
            else:
                self.property_added(writer, reader, name, where, name in r_required)
        for name in sorted(r_required - set(r_props) - w_required):
            self.add(
                _child(path, name),
                "required:added",
                f"{name!r} is now required; the writer may leave it out",
            )
        self.compare_additional(writer, reader, path)
        _bound(self, writer, reader, path, "maxProperties", upper=True)
        _bound(self, writer, reader, path, "minProperties", upper=False)

    def property_removed(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], name: str, where: str
    ) -> None:
        w_schema = writer["properties"][name]
        model, covering = _content_model(reader, name)
        if model == "open" or self.resolve(w_schema, self.writer_root) is False:
            return
        if covering is not None:
            self.compare(w_schema, covering, where)
            return
        self.add(
            where,
            "property:removed-from-closed",
            f"the writer may send {name!r}; the "
            "reader's closed content model (additionalProperties: false) rejects it",
        )

    def property_added(
        self,
        writer: Mapping[str, Any],
        reader: Mapping[str, Any],
        name: str,
        where: str,
        required: bool,
    ) -> None:
        r_schema = reader["properties"][name]
        model, covering = _content_model(writer, name)
        if model == "open":
            if not _is_empty(self.resolve(r_schema, self.reader_root)):
                self.add(
                    where,
                    "property:added-to-open",
                    f"{name!r} is new, but the writer's "
                    "open content model may already send it with any value (close the old "
                    "schema with additionalProperties: false, or leave the new property "
                    "unconstrained)",
                )
            return
        if covering is not None:
            self.compare(covering, r_schema, where)
        if required and not _has_default(r_schema, self, self.reader_root):
            self.add(
                where,
                "required:added",
                f"{name!r} is new and required without a default; the writer never sends it",
            )

    def compare_additional(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str
    ) -> None:
        w_extra, r_extra = writer.get("additionalProperties"), reader.get("additionalProperties")
        w_open = w_extra is not False
        if w_open and r_extra is False:
            self.add(
                f"{path}.*",
                "additionalProperties:removed",
                "the reader no longer allows additional properties; the writer may send them",
            )
        elif isinstance(r_extra, Mapping) and not _is_empty(r_extra):
            if w_extra is None or w_extra is True or _is_empty(w_extra):
                self.add(
                    f"{path}.*",
                    "additionalProperties:narrowed",
                    "the reader constrains additional properties the writer sends with any value",
                )
            elif isinstance(w_extra, Mapping):
                self.compare(w_extra, r_extra, f"{path}.*")

    def compare_array(
        self, writer: Mapping[str, Any], reader: Mapping[str, Any], path: str
    ) -> None:
        w_items, r_items = writer.get("items"), reader.get("items")
        w_prefix = writer.get("prefixItems", w_items if isinstance(w_items, list) else None)
        r_prefix = reader.get("prefixItems", r_items if isinstance(r_items, list) else None)
        if isinstance(w_prefix, list) and isinstance(r_prefix, list):
            for i, (w_item, r_item) in enumerate(zip(w_prefix, r_prefix, strict=False)):
                self.compare(w_item, r_item, f"{path}[{i}]")
        elif (
            not isinstance(w_items, list) and not isinstance(r_items, list) and r_items is not None
        ):
            self.compare(w_items if w_items is not None else True, r_items, f"{path}[]")
        _bound(self, writer, reader, path, "maxItems", upper=True)
        _bound(self, writer, reader, path, "minItems", upper=False)
        if reader.get("uniqueItems") and not writer.get("uniqueItems"):
            self.add(
                path,
                "uniqueItems:added",
                "the reader requires unique items; the writer may repeat them",
            )


def _bound(
    differ: _Differ,
    writer: Mapping[str, Any],
    reader: Mapping[str, Any],
    path: str,
    key: str,
    *,
    upper: bool,
) -> None:
    r_value, w_value = reader.get(key), writer.get(key)
    if not isinstance(r_value, (int, float)) or isinstance(r_value, bool):
        return
    if not isinstance(w_value, (int, float)) or isinstance(w_value, bool):
        differ.add(path, f"{key}:added", f"the reader adds {key} {r_value}; the writer had none")
        return
    tighter = r_value < w_value if upper else r_value > w_value
    if tighter:
        verb = "decreased" if upper else "increased"
        differ.add(
            path,
            f"{key}:{verb}",
            f"{key} {verb} from {w_value} to {r_value}: values the writer allows fall outside it",
        )


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{name!r}]"


def _is_empty(schema: Any) -> bool:
    return schema is True or (isinstance(schema, Mapping) and all(k in ANNOTATIONS for k in schema))


def _as_dict(schema: Any) -> dict[str, Any]:
    if schema is True:
        return {}
    if schema is False:
        return {"not": {}}
    return dict(schema)


def _rest(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf", "allOf")}


def _conjuncts(schema: Mapping[str, Any]) -> list[Any]:
    rest = _rest(schema)
    parts = [] if _is_empty(rest) else [rest]
    return parts + list(schema["allOf"])


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _has_default(schema: Any, differ: _Differ, root: Any) -> bool:
    resolved = differ.resolve(schema, root)
    return isinstance(resolved, Mapping) and "default" in resolved


def _content_model(schema: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """("open", None) | ("closed", None) | ("partial", covering schema or None)."""
    patterns: Mapping[str, Any] = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties")
    if not patterns and (extra is None or _is_empty(extra)):
        return "open", None
    for pattern, covering in patterns.items():
        if re.search(pattern, name):
            return "partial", covering
    if isinstance(extra, Mapping):
        return "partial", extra
    return "closed", None


def reader_problems(reader: Any, writer: Any) -> list[Problem]:
    """Every way ``reader`` fails to accept documents valid under ``writer`` ([] = it can)."""
    differ = _Differ(writer, reader)
    differ.compare(writer, reader, "$")
    return differ.problems
