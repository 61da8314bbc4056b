"""JSON Schema compatibility: Confluent's rules, reader vs writer, and the modes."""

from __future__ import annotations

from typing import Any

import pytest

from eventharness.schemas.compat import check_compatibility
from eventharness.schemas.json_compat import reader_problems


def obj(props: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required), **extra}


S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
N = {"type": "number"}
CLOSED = {"additionalProperties": False}

# (case, writer, reader, expected [(path, rule)])
CASES: list[tuple[str, Any, Any, list[tuple[str, str]]]] = [
    ("same", obj({"id": S}), obj({"id": S}), []),
    # open content model
    ("property removed from open reader", obj({"id": S, "n": I}), obj({"id": S}), []),
    (
        "property added to open writer",
        obj({"id": S}),
        obj({"id": S, "n": I}),
        [("$.n", "property:added-to-open")],
    ),
    ("unconstrained property added to open writer", obj({"id": S}), obj({"id": S, "n": {}}), []),
    # closed content model
    (
        "property removed from closed reader",
        obj({"id": S, "n": I}, **CLOSED),
        obj({"id": S}, **CLOSED),
        [("$.n", "property:removed-from-closed")],
    ),
    (
        "optional property added to closed writer",
        obj({"id": S}, **CLOSED),
        obj({"id": S, "n": I}, **CLOSED),
        [],
    ),
    (
        "required property added to closed writer",
        obj({"id": S}, **CLOSED),
        obj({"id": S, "n": I}, ("n",), **CLOSED),
        [("$.n", "required:added")],
    ),
    (
        "required property with default added to closed writer",
        obj({"id": S}, **CLOSED),
        obj({"id": S, "n": {**I, "default": 0}}, ("n",), **CLOSED),
        [],
    ),
    (
        "closed reader of open writer",
        obj({"id": S}),
        obj({"id": S}, **CLOSED),
        [("$.*", "additionalProperties:removed")],
    ),
    ("opened reader of closed writer", obj({"id": S}, **CLOSED), obj({"id": S}), []),
    # partially open content model
    (
        "removed property covered by patternProperties",
        obj({"id": S, "x_n": I}, **CLOSED),
        obj({"id": S}, patternProperties={"^x_": N}, additionalProperties=False),
        [],
    ),
    (
        "removed property not covered by patternProperties",
        obj({"id": S, "x_n": S}, **CLOSED),
        obj({"id": S}, patternProperties={"^x_": N}, additionalProperties=False),
        [("$.x_n", "type:changed")],
    ),
    (
        "added property covered by additionalProperties schema",
        obj({"id": S}, additionalProperties=I),
        obj({"id": S, "n": N}, additionalProperties=I),
        [],
    ),
    # required
    (
        "required added",
        obj({"id": S, "n": I}),
        obj({"id": S, "n": I}, ("n",)),
        [("$.n", "required:added")],
    ),
    (
        "required with default added",
        obj({"id": S, "n": I}),
        obj({"id": S, "n": {**I, "default": 1}}, ("n",)),
        [],
    ),
    ("required removed", obj({"id": S}, ("id",)), obj({"id": S}), []),
    # types
    ("integer widened to number", obj({"n": I}), obj({"n": N}), []),
    ("number narrowed to integer", obj({"n": N}), obj({"n": I}), [("$.n", "type:narrowed")]),
    ("type changed", obj({"n": I}), obj({"n": S}), [("$.n", "type:changed")]),
    ("type made nullable", obj({"n": S}), obj({"n": {"type": ["string", "null"]}}), []),
    (
        "nullable made strict",
        obj({"n": {"type": ["string", "null"]}}),
        obj({"n": S}),
        [("$.n", "type:narrowed")],
    ),
    ("anyOf branch added", obj({"n": {"anyOf": [S, I]}}), obj({"n": {"anyOf": [S, I, N]}}), []),
    (
        "anyOf branch removed",
        obj({"n": {"oneOf": [S, I]}}),
        obj({"n": {"oneOf": [S]}}),
        [("$.n", "sum-type:narrowed")],
    ),
    ("value made a union", obj({"n": S}), obj({"n": {"oneOf": [S, I]}}), []),
    ("anything narrowed", obj({"n": {}}), obj({"n": S}), [("$.n", "type:narrowed")]),
    # enums
    ("enum extended", obj({"c": {"enum": ["a", "b"]}}), obj({"c": {"enum": ["a", "b", "c"]}}), []),
    (
        "enum narrowed",
        obj({"c": {"enum": ["a", "b"]}}),
        obj({"c": {"enum": ["a"]}}),
        [("$.c", "enum:narrowed")],
    ),
    (
        "enum added",
        obj({"c": S}),
        obj({"c": {"type": "string", "enum": ["a"]}}),
        [("$.c", "enum:added")],
    ),
    ("enum removed", obj({"c": {"type": "string", "enum": ["a"]}}), obj({"c": S}), []),
    # numeric bounds
    ("maximum raised", obj({"n": {**N, "maximum": 5}}), obj({"n": {**N, "maximum": 9}}), []),
    (
        "maximum lowered",
        obj({"n": {**N, "maximum": 9}}),
        obj({"n": {**N, "maximum": 5}}),
        [("$.n", "maximum:decreased")],
    ),
    ("maximum added", obj({"n": N}), obj({"n": {**N, "maximum": 5}}), [("$.n", "maximum:added")]),
    ("maximum removed", obj({"n": {**N, "maximum": 5}}), obj({"n": N}), []),
    ("minimum lowered", obj({"n": {**N, "minimum": 5}}), obj({"n": {**N, "minimum": 1}}), []),
    (
        "minimum raised",
        obj({"n": {**N, "minimum": 1}}),
        obj({"n": {**N, "minimum": 5}}),
        [("$.n", "minimum:increased")],
    ),
    (
        "exclusiveMinimum added",
        obj({"n": N}),
        obj({"n": {**N, "exclusiveMinimum": 0}}),
        [("$.n", "exclusiveMinimum:added")],
    ),
    (
        "multipleOf reduced",
        obj({"n": {**I, "multipleOf": 4}}),
        obj({"n": {**I, "multipleOf": 2}}),
        [],
    ),
    (
        "multipleOf changed",
        obj({"n": {**I, "multipleOf": 2}}),
        obj({"n": {**I, "multipleOf": 3}}),
        [("$.n", "multipleOf:changed")],
    ),
    # string bounds
    ("maxLength raised", obj({"s": {**S, "maxLength": 5}}), obj({"s": {**S, "maxLength": 9}}), []),
    (
        "maxLength lowered",
        obj({"s": {**S, "maxLength": 9}}),
        obj({"s": {**S, "maxLength": 5}}),
        [("$.s", "maxLength:decreased")],
    ),
    (
        "minLength added",
        obj({"s": S}),
        obj({"s": {**S, "minLength": 1}}),
        [("$.s", "minLength:added")],
    ),
    (
        "pattern added",
        obj({"s": S}),
        obj({"s": {**S, "pattern": "^a"}}),
        [("$.s", "pattern:added")],
    ),
    ("pattern removed", obj({"s": {**S, "pattern": "^a"}}), obj({"s": S}), []),
    # arrays and nesting
    (
        "array items widened",
        obj({"xs": {"type": "array", "items": I}}),
        obj({"xs": {"type": "array", "items": N}}),
        [],
    ),
    (
        "array items narrowed",
        obj({"xs": {"type": "array", "items": N}}),
        obj({"xs": {"type": "array", "items": I}}),
        [("$.xs[]", "type:narrowed")],
    ),
    (
        "maxItems lowered",
        obj({"xs": {"type": "array", "maxItems": 5}}),
        obj({"xs": {"type": "array", "maxItems": 2}}),
        [("$.xs", "maxItems:decreased")],
    ),
    (
        "uniqueItems added",
        obj({"xs": {"type": "array"}}),
        obj({"xs": {"type": "array", "uniqueItems": True}}),
        [("$.xs", "uniqueItems:added")],
    ),
    (
        "nested property narrowed",
        obj({"to": obj({"zip": S})}),
        obj({"to": obj({"zip": I})}),
        [("$.to.zip", "type:changed")],
    ),
    (
        "$ref resolved",
        {**obj({"to": {"$ref": "#/$defs/A"}}), "$defs": {"A": obj({"zip": I})}},
        {**obj({"to": {"$ref": "#/definitions/A"}}), "definitions": {"A": obj({"zip": N})}},
        [],
    ),
    (
        "$ref narrowed",
        {**obj({"to": {"$ref": "#/$defs/A"}}), "$defs": {"A": obj({"zip": N})}},
        obj({"to": obj({"zip": I})}),
        [("$.to.zip", "type:narrowed")],
    ),
    (
        "maxProperties lowered",
        obj({}, maxProperties=5),
        obj({}, maxProperties=3),
        [("$", "maxProperties:decreased")],
    ),
    (
        "annotations only",
        obj({"n": {**I, "title": "n"}}),
        obj({"n": {**I, "description": "d"}}),
        [],
    ),
]


@pytest.mark.parametrize(("case", "writer", "reader", "expected"), CASES, ids=[c[0] for c in CASES])
def test_json_rules(case: str, writer: Any, reader: Any, expected: list[tuple[str, str]]) -> None:
    found = reader_problems(reader, writer)
    assert [(p.path, p.rule) for p in found] == expected, [p.message for p in found]


OPEN_V1 = obj({"id": S})
CLOSED_V1 = obj({"id": S}, **CLOSED)
CLOSED_V2 = obj({"id": S, "n": I}, **CLOSED)


def test_modes_follow_the_content_model() -> None:
    # closed: adding an optional property is backward compatible, removing it forward compatible
    assert check_compatibility(CLOSED_V2, [CLOSED_V1], "BACKWARD", kind="json") == []
    (forward,) = check_compatibility(CLOSED_V2, [CLOSED_V1], "FORWARD", kind="json")
    assert (forward.direction, forward.path, forward.rule) == (
        "forward",
        "$.n",
        "property:removed-from-closed",
    )
    # open: adding a constrained property is not backward compatible, but is forward compatible
    open_v2 = obj({"id": S, "n": I})
    (backward,) = check_compatibility(open_v2, [OPEN_V1], "BACKWARD", kind="json")
    assert (backward.direction, backward.path, backward.rule) == (
        "backward",
        "$.n",
        "property:added-to-open",
    )
    assert check_compatibility(open_v2, [OPEN_V1], "FORWARD", kind="json") == []
    assert len(check_compatibility(open_v2, [OPEN_V1], "FULL", kind="json")) == 1


def test_transitive_checks_every_old_version() -> None:
    v1 = obj({"n": {**N, "maximum": 100}})
    v2 = obj({"n": {**N, "maximum": 10}})
    v3 = obj({"n": {**N, "maximum": 10}})
    assert check_compatibility(v3, [v1, v2], "FORWARD", kind="json") == []
    (found,) = check_compatibility(v3, [v1, v2], "BACKWARD_TRANSITIVE", kind="json")
    assert (found.against, found.rule) == (0, "maximum:decreased")
    assert "maximum decreased from 100 to 10" in found.message
