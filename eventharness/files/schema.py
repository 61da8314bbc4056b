"""The shape of a scenario file: a JSON Schema shipped in the package, and its errors in words.

    scenario_schema()            # the document (for editors: ``eventharness schema scenario``)
    shape_problems(data)         # every place ``data`` breaks it, each with its line and a text

The schema (``scenario.schema.json``) says which keys exist, which are required, and what type
and range each value has. Where a part of it carries ``errorMessage`` (as ajv-errors spells it:
one text, or one per keyword), that text is what users read; ``{key}``, ``{value}``,
``{closest}``, ... are filled in from the error. Everything else gets a generic text. Messages
about what a file *means* (references, channels, schema subjects) are
:mod:`eventharness.files.checks`'s.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from eventharness.engine.templates import parse_duration, references
from eventharness.files.lines import line_of

if TYPE_CHECKING:  # jsonschema is imported when a file is checked, not with the CLI
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["ShapeProblem", "closest", "scenario_schema", "shape_problems"]


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (a fresh copy)."""
    return dict(json.loads(_schema_text()))


@functools.cache
def _schema_text() -> str:
    return resources.files("eventharness.files").joinpath("scenario.schema.json").read_text("utf-8")


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(scenario_schema())


@dataclass(frozen=True, slots=True)
class ShapeProblem:
    """``path`` is where in the data (``("steps", 2, "expect", "within")``)."""

    path: tuple[Any, ...]
    line: int
    message: str


def closest(word: Any, options: Iterable[Any]) -> str:
    """``; did you mean 'within'?`` when one of ``options`` is close to ``word``."""
    found = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


def shape_problems(data: Any) -> list[ShapeProblem]:
    """Every place ``data`` (a loaded scenario file) breaks the schema."""
    return [p for error in _validator().iter_errors(data) for p in _explain(_chosen(error), data)]


def _custom(error: ValidationError) -> str | dict[str, Any] | None:
    schema = error.schema
    custom = schema.get("errorMessage") if isinstance(schema, dict) else None
    if isinstance(custom, dict):
        found = custom.get(str(error.validator))
        return found if isinstance(found, str | dict) else None
    return custom if isinstance(custom, str) else None


def _chosen(error: ValidationError) -> ValidationError:
    """The error to explain: down an ``anyOf``/``oneOf`` to the branch that applies (the one
    that got deepest into the value, else one the value has the type of), unless a part on the
    way has its own text for it."""
    while error.context:
        schema = error.schema
        if isinstance(schema, dict) and isinstance(schema.get("errorMessage"), str):
            return error
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        ranked = sorted(branches.values(), key=_rank)
        if len(ranked) > 1 and _rank(ranked[0]) == _rank(ranked[1]):
            return error  # no branch stands out
        error = max(ranked[0], key=lambda e: (len(e.path), not _wrong_type(e)))
    return error


def _rank(errors: list[ValidationError]) -> tuple[int, bool]:
    return -max(len(e.path) for e in errors), any(_wrong_type(e) for e in errors)


def _wrong_type(error: ValidationError) -> bool:
    """The value has none of the types this part of the schema allows."""
    if error.context:
        return all(_wrong_type(e) for e in error.context)
    return error.validator == "type"


def _node(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _context(data: Any, path: tuple[Any, ...]) -> str:
    """How messages name the part of the file at ``path``: ``expect``, ``eventually.http``,
    ``faults[1]``, ``stub 'payments': respond[0]``; empty at the top and for a step item."""
    where = ""
    if path[:1] == ("steps",) and len(path) >= 3:
        where = str(path[2])
        if path[2] == "eventually" and len(path) >= 4 and path[3] in ("http", "command", "sql"):
            where = f"eventually.{path[3]}"
    elif path[:1] in (("setup",), ("teardown",)) and len(path) >= 3:
        where = f"{path[0]}.{path[2]}"
    elif path[:1] == ("stubs",) and len(path) >= 2:
        entry = _node(data, path[:2])
        name = entry.get("name", entry.get("consume")) if isinstance(entry, dict) else None
        where = f"stub {name!r}" if isinstance(name, str) else f"stubs[{path[1]}]"
        if path[2:3] == ("respond",) and len(path) >= 4:
            where += f": respond[{path[3]}]"
    for i in range(len(path) - 1):
        if path[i] == "faults" and isinstance(path[i + 1], int):
            fault = f"faults[{path[i + 1]}]"
            where = f"{where}: {fault}" if path[0] == "stubs" else fault
    return where


def _duration(value: Any, *, allow_zero: bool) -> str:
    if references(value):
        return f"durations cannot use variables ({value!r})"
    try:
        parse_duration(value, allow_zero=allow_zero)
    except ValueError as exc:
        return str(exc)
    return f"{value!r} is not a duration"  # pragma: no cover - the pattern and the parser agree


def _fill(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _explain(error: ValidationError, data: Any) -> Iterator[ShapeProblem]:
    path = tuple(error.absolute_path)
    instance: Any = error.instance
    wanted: Any = error.validator_value
    schema, keyword = error.schema, str(error.validator)
    custom = _custom(error)
    key: Any
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    if "propertyNames" in error.absolute_schema_path:  # a bad name: the instance is the key
        container, key = _node(data, path), instance
        where, line, path = _context(data, path), line_of(container, key), (*path, key)
    elif isinstance(instance, dict) or not path or isinstance(path[-1], int):
        key = path[-1] if path and isinstance(path[-1], str) else ""
        where = _context(data, path)
        line = line_of(_node(data, path[:-1]), path[-1]) if path else line_of(data) or 1
    else:
        key, where = path[-1], _context(data, path[:-1])
        line = line_of(_node(data, path[:-1]), key)
    prefix = f"{where}: " if where else ""
    common = {
        "key": str(key),
        "value": repr(instance),
        "parent": str(path[-2]) if len(path) >= 2 else "",
        "kinds": ", ".join(properties),
    }
    if keyword == "additionalProperties":
        allowed = list(properties)
        for extra in (k for k in instance if k not in properties):
            text = _fill(
                custom
                if isinstance(custom, str)
                else "unknown key {extra}{closest} (allowed: {allowed})",
                **common,
                extra=repr(extra),
                closest=closest(extra, allowed),
                allowed=", ".join(allowed),
            )
            yield ShapeProblem((*path, extra), line_of(instance, extra) or line, prefix + text)
        return
    if keyword == "required":
        for missing in (k for k in wanted if k not in instance):
            found = custom.get(missing) if isinstance(custom, dict) else custom
            text = found if isinstance(found, str) else "missing required key {missing}"
            yield ShapeProblem(path, line, prefix + _fill(text, **common, missing=repr(missing)))
        return
    if isinstance(custom, str):
        options = list(wanted) if keyword == "enum" else list(properties)
        text = _fill(
            custom,
            **common,
            duration=_duration(instance, allow_zero=False),
            duration0=_duration(instance, allow_zero=True),
            closest=closest(instance, options) if keyword == "enum" else "",
            allowed=", ".join(map(str, options)),
            keys=", ".join(str(k) for k in instance if k in properties)
            if isinstance(instance, dict)
            else "",
        )
    else:
        text = f"{key}: {error.message}" if key else error.message
    yield ShapeProblem(path, line, prefix + text)
