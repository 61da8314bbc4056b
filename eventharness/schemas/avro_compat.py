"""Can an Avro reader schema read data written with a writer schema?

Follows the Avro specification's "Schema Resolution" rules:

* primitives match when equal or promotable: int → long, float, double; long → float, double;
  float → double; string ↔ bytes;
* records, enums and fixed match by unqualified name or one of the reader's aliases;
  every reader field absent from the writer (by name or the reader field's aliases) needs a
  default; writer fields the reader lacks are skipped;
* an enum symbol the writer may send that the reader lacks needs the reader's enum ``default``;
* fixed sizes must be equal; arrays and maps resolve their items / values;
* a writer union: every branch must resolve against the reader; a reader union: the writer's
  type must match one branch (the first that matches is used);
* logical types: the reader falls back to the underlying type when they differ, which keeps
  the bytes readable but changes the meaning; changes of unit or of decimal scale/precision
  are reported as incompatible because values would silently change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventharness.model.errors import UsageError
from eventharness.schemas.avro import NAMED, PRIMITIVES

__all__ = ["PROMOTIONS", "Problem", "kind_of", "normalize", "reader_problems"]

PROMOTIONS = frozenset(
    {
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Where resolution fails (a data path), which rule, and why."""

    path: str
    rule: str
    message: str


def normalize(schema: Any) -> tuple[Any, dict[str, Any]]:
    """The schema with full names everywhere, and a table of its named types."""
    names: dict[str, Any] = {}
    return _norm(schema, "", names), names


def _full(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _norm(schema: Any, ns: str, names: dict[str, Any]) -> Any:
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return schema
        for candidate in (_full(schema, ns), schema):
            if candidate in names:
                return candidate
        raise UsageError(f"Avro schema refers to {schema!r}, which is not defined before use")
    if isinstance(schema, list):
        return [_norm(branch, ns, names) for branch in schema]
    if not isinstance(schema, Mapping) or "type" not in schema:
        raise UsageError(f"not an Avro schema: {schema!r}")
    kind = schema["type"]
    out = dict(schema)
    if kind in NAMED:
        name = str(schema["name"])
        space = name.rpartition(".")[0] if "." in name else str(schema.get("namespace", ns))
        full = _full(name, space)
        out["name"] = full
        names[full] = out
        if kind in ("record", "error"):
            out["fields"] = [
                {**f, "type": _norm(f["type"], space, names)} for f in schema["fields"]
            ]
        return out
    if kind == "array":
        out["items"] = _norm(schema["items"], ns, names)
    elif kind == "map":
        out["values"] = _norm(schema["values"], ns, names)
    elif not (isinstance(kind, str) and kind in PRIMITIVES):
        return _norm(kind, ns, names)  # {"type": {"type": "record", ...}} or a named reference
    return out


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _label(schema: Any) -> str:
    if isinstance(schema, list):
        return "union [" + ", ".join(_label(b) for b in schema) + "]"
    if isinstance(schema, Mapping):
        if schema["type"] in NAMED:
            return f"{schema['type']} {_short(schema['name'])}"
        if "logicalType" in schema:
            return f"{schema['type']} ({schema['logicalType']})"
        return str(schema["type"])
    return str(schema)


@dataclass
class _Resolver:
    reader_names: dict[str, Any]
    writer_names: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def deref(self, schema: Any, names: Mapping[str, Any]) -> Any:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            return names[schema]
        return schema

    def add(self, path: str, rule: str, message: str) -> None:
        self.problems.append(Problem(path, rule, message))

    def matches(self, reader: Any, writer: Any) -> bool:
        """The spec's "match" for picking a reader union branch (no deep resolution)."""
        r_kind, w_kind = kind_of(reader), kind_of(writer)
        if r_kind in NAMED and w_kind in NAMED:
            return r_kind == w_kind and _names_match(reader, writer)
        return r_kind == w_kind or (w_kind, r_kind) in PROMOTIONS

    def check(self, reader: Any, writer: Any, path: str) -> None:
        reader = self.deref(reader, self.reader_names)
        writer = self.deref(writer, self.writer_names)
        if isinstance(writer, list):
            for branch in writer:
                self.check(reader, branch, path)
            return
        if isinstance(reader, list):
            branches = [self.deref(b, self.reader_names) for b in reader]
            chosen = next((b for b in branches if self.matches(b, writer)), None)
            if chosen is None:
                self.add(
                    path,
                    "union:missing-branch",
                    f"the writer may send {_label(writer)}, which no branch of the reader's "
                    f"{_label(branches)} accepts",
                )
            else:
                self.check(chosen, writer, path)
            return
        r_kind, w_kind = kind_of(reader), kind_of(writer)
        if r_kind != w_kind:
            if (w_kind, r_kind) not in PROMOTIONS:
                self.add(
                    path,
                    "type",
                    f"the writer's {_label(writer)} cannot be read as {_label(reader)}"
                    + _promotion_hint(w_kind),
                )
            return
        self.check_logical(reader, writer, path)
        if r_kind in ("record", "error"):
            self.check_record(reader, writer, path)
        elif r_kind == "enum":
            self.check_enum(reader, writer, path)
        elif r_kind == "fixed":
            self.check_fixed(reader, writer, path)
        elif r_kind == "array":
            self.check(reader["items"], writer["items"], f"{path}[]")
        elif r_kind == "map":
            self.check(reader["values"], writer["values"], f"{path}{{}}")

    def check_logical(self, reader: Any, writer: Any, path: str) -> None:
        r_logical = reader.get("logicalType") if isinstance(reader, Mapping) else None
        w_logical = writer.get("logicalType") if isinstance(writer, Mapping) else None
        if r_logical is None or w_logical is None:
            return  # a reader without the logical type reads the underlying value unchanged
        if r_logical != w_logical:
            self.add(
                path,
                "logical-type",
                f"the writer's {w_logical} values would be read as {r_logical}, "
                "changing their meaning",
            )
        elif r_logical == "decimal":
            for attr in ("precision", "scale"):
                r_value, w_value = reader.get(attr, 0), writer.get(attr, 0)
                if attr == "precision" and r_value >= w_value:
                    continue
                if r_value != w_value:
                    self.add(
                        path,
                        f"decimal:{attr}",
                        f"decimal {attr} {w_value} written, read with {attr} {r_value}",
                    )

    def check_record(self, reader: Any, writer: Any, path: str) -> None:
        if not self.check_name(reader, writer, path):
            return
        key = (reader["name"], writer["name"])
        if key in self.seen:  # checked already (or in progress: a recursive type)
            return
        self.seen.add(key)
        by_name = {f["name"]: f for f in writer["fields"]}
        for r_field in reader["fields"]:
            where = f"{path}.{r_field['name']}"
            w_field = by_name.get(r_field["name"])
            if w_field is None:
                w_field = next(
                    (by_name[a] for a in r_field.get("aliases", ()) if a in by_name), None
                )
            if w_field is not None:
                self.check(r_field["type"], w_field["type"], where)
            elif "default" not in r_field:
                self.add(
                    where,
                    "field:missing-default",
                    f"the reader's field {r_field['name']!r} is not in the writer's record "
                    f"{_short(writer['name'])} and has no default",
                )

    def check_enum(self, reader: Any, writer: Any, path: str) -> None:
        if not self.check_name(reader, writer, path):
            return
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            self.add(
                path,
                "enum:missing-symbol",
                f"the writer's symbol{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} not in the reader's enum {_short(reader['name'])}, "
                "which has no default",
            )

    def check_fixed(self, reader: Any, writer: Any, path: str) -> None:
        if self.check_name(reader, writer, path) and reader["size"] != writer["size"]:
            self.add(
                path,
                "fixed:size",
                f"fixed {_short(writer['name'])} is {writer['size']} bytes written, "
                f"{reader['size']} read",
            )

    def check_name(self, reader: Any, writer: Any, path: str) -> bool:
        if _names_match(reader, writer):
            return True
        self.add(
            path,
            "name",
            f"the writer's {writer['type']} {_short(writer['name'])} does not match the reader's "
            f"{_short(reader['name'])} (name or aliases)",
        )
        return False


def kind_of(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, Mapping):
        return str(schema["type"])
    return str(schema)


def _names_match(reader: Mapping[str, Any], writer: Mapping[str, Any]) -> bool:
    w_full, w_short = writer["name"], _short(writer["name"])
    if w_short == _short(reader["name"]):
        return True
    aliases = reader.get("aliases", ())
    return w_full in aliases or w_short in aliases or any(_short(a) == w_short for a in aliases)


def _promotion_hint(writer_kind: str) -> str:
    wider = sorted(r for w, r in PROMOTIONS if w == writer_kind)
    return f" (it can be read as {', '.join(wider)})" if wider else ""


def reader_problems(reader: Any, writer: Any) -> list[Problem]:
    """Every way ``reader`` fails to read data written with ``writer`` ([] = it can)."""
    r_root, r_names = normalize(reader)
    w_root, w_names = normalize(writer)
    resolver = _Resolver(r_names, w_names)
    resolver.check(r_root, w_root, "$")
    return resolver.problems
