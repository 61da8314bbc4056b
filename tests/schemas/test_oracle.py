"""The compatibility checker against fastavro, and our wire format against confluent-kafka.

* Property: for generated writer/reader schema pairs, whenever the checker says the reader can
  read the writer, data generated for the writer and written by fastavro is read back by
  fastavro with the reader schema.
* For every Avro rule, a pair the checker rejects makes fastavro's resolution fail on a
  witness value (or, for logical types, read a different value).
* Bytes we frame in the Confluent wire format decode with confluent-kafka's AvroDeserializer,
  and its AvroSerializer's bytes decode with ours, through the in-test registry.
"""

from __future__ import annotations

import datetime
import io
import json
import warnings
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eventharness.schemas import RegistryClient, decode_payload, encode_payload
from eventharness.schemas.avro_compat import reader_problems
from tests.schemas.registry_server import RegistryServer

PRIMITIVE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=4),
    # Avro lets bytes be read as string (and back) only for UTF-8 content: the promotion is
    # about the type, and non-UTF-8 bytes cannot become a string in any reader.
    "bytes": st.text(max_size=4).map(str.encode),
}
WIDER = {
    "int": ["long", "float", "double"],
    "long": ["float", "double"],
    "float": ["double"],
    "string": ["bytes"],
    "bytes": ["string"],
}
NARROWER = {"long": ["int"], "double": ["float", "long"], "float": ["int"], "boolean": ["int"]}
SYMBOLS = ["A", "B", "C", "D"]


def values(schema: Any) -> st.SearchStrategy[Any]:
    """Values that conform to a (small, generated) Avro schema."""
    if isinstance(schema, str):
        return PRIMITIVE_VALUES[schema]
    if isinstance(schema, list):
        return st.one_of([values(branch) for branch in schema])
    kind = schema["type"]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(values(schema["items"]), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=3), values(schema["values"]), max_size=3)
    return st.fixed_dictionaries({f["name"]: values(f["type"]) for f in schema["fields"]})


_counter = iter(range(10**9))


def field_types() -> st.SearchStrategy[Any]:
    scalars = st.sampled_from(sorted(PRIMITIVE_VALUES.keys() - {"null"}))
    enums = st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True).map(
        lambda syms: {"type": "enum", "name": "E", "symbols": syms}
    )
    return st.one_of(
        scalars,
        scalars.map(lambda t: ["null", t]),
        enums,
        scalars.map(lambda t: {"type": "array", "items": t}),
        scalars.map(lambda t: {"type": "map", "values": t}),
    )


def default_for(type_: Any) -> Any:
    if isinstance(type_, list):
        return None  # our unions put null first
    if isinstance(type_, dict):
        kind = type_["type"]
        return {"enum": type_["symbols"][0], "array": [], "map": {}}[kind]
    return {"boolean": False, "string": "", "bytes": ""}.get(type_, 0)


@st.composite
def writer_and_reader(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A writer record and a reader evolved from it by random schema changes."""
    types = draw(st.lists(field_types(), min_size=1, max_size=4))
    # enums are named types: keep one enum per record so names stay unique
    seen_enum = False
    writer_fields = []
    for i, t in enumerate(types):
        if isinstance(t, dict) and t["type"] == "enum":
            if seen_enum:
                continue
            seen_enum = True
        writer_fields.append({"name": f"f{i}", "type": t})
    reader_fields = []
    for field in writer_fields:
        op = draw(
            st.sampled_from(
                [
                    "keep",
                    "keep",
                    "drop",
                    "widen",
                    "narrow",
                    "nullable",
                    "strict",
                    "enum",
                    "rename",
                    "rename_alias",
                ]
            )
        )
        reader_fields.append(evolve(draw, field, op))
    for j in range(draw(st.integers(0, 2))):
        t = draw(st.sampled_from(["int", "string", ["null", "long"], "double"]))
        new = {"name": f"n{j}", "type": t}
        if draw(st.booleans()):
            new["default"] = default_for(t)
        reader_fields.append(new)
    reader_fields = [f for f in reader_fields if f is not None]
    writer = {"type": "record", "name": "R", "fields": writer_fields}
    reader = {"type": "record", "name": "R", "fields": reader_fields}
    return writer, reader


def evolve(draw: st.DrawFn, field: dict[str, Any], op: str) -> dict[str, Any] | None:
    t = field["type"]
    if op == "drop":
        return None
    if op == "widen" and isinstance(t, str) and t in WIDER:
        return {**field, "type": draw(st.sampled_from(WIDER[t]))}
    if op == "narrow" and isinstance(t, str) and t in NARROWER:
        return {**field, "type": draw(st.sampled_from(NARROWER[t]))}
    if op == "nullable" and not isinstance(t, list):
        return {**field, "type": ["null", t]}
    if op == "strict" and isinstance(t, list):
        return {**field, "type": t[1]}
    if op == "enum" and isinstance(t, dict) and t["type"] == "enum":
        symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
        new = {**t, "symbols": symbols}
        if draw(st.booleans()):
            new["default"] = symbols[0]
        return {**field, "type": new}
    if op == "rename":
        return {**field, "name": field["name"] + "x"}
    if op == "rename_alias":
        return {**field, "name": field["name"] + "x", "aliases": [field["name"]]}
    return field


def write(value: Any, schema: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def read(raw: bytes, writer: Any, reader: Any) -> Any:
    return fastavro.schemaless_reader(
        io.BytesIO(raw), fastavro.parse_schema(writer), fastavro.parse_schema(reader)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compatible_pairs_read_in_fastavro(data: st.DataObject) -> None:
    writer, reader = data.draw(writer_and_reader())
    problems = reader_problems(reader, writer)
    event("compatible" if not problems else "incompatible")
    if problems:
        return
    for _ in range(3):
        value = data.draw(values(writer))
        result = read(write(value, writer), writer, reader)
        reader_names = [f["name"] for f in reader["fields"]]
        assert list(result) == reader_names
        for field in reader["fields"]:
            if field in writer["fields"]:  # unchanged fields come through unchanged
                assert result[field["name"]] == value[field["name"]]


def rec(*fields: tuple[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "R", "fields": [{"name": n, "type": t} for n, t in fields]}


ENUM3 = {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}
ENUM2 = {"type": "enum", "name": "E", "symbols": ["A", "B"]}

# rule -> (writer, reader, a value written with the writer that the reader must fail on)
WITNESSES: dict[str, tuple[Any, Any, Any]] = {
    "field:missing-default": (rec(("a", "int")), rec(("a", "int"), ("b", "int")), {"a": 1}),
    "type": (rec(("a", "long")), rec(("a", "int")), {"a": 2**40}),
    "union:missing-branch": (
        rec(("a", ["null", "string", "int"])),
        rec(("a", ["null", "string"])),
        {"a": 3},
    ),
    "enum:missing-symbol": (rec(("a", ENUM3)), rec(("a", ENUM2)), {"a": "C"}),
    "name": (rec(("a", ENUM2)), rec(("a", {**ENUM2, "name": "F"})), {"a": "A"}),
    "fixed:size": (
        rec(("a", {"type": "fixed", "name": "X", "size": 2})),
        rec(("a", {"type": "fixed", "name": "X", "size": 3})),
        {"a": b"ab"},
    ),
    "union-writer": (rec(("a", ["null", "string"])), rec(("a", "string")), {"a": None}),
}


@pytest.mark.parametrize("rule", sorted(WITNESSES))
def test_each_incompatible_rule_fails_in_fastavro(rule: str) -> None:
    writer, reader, value = WITNESSES[rule]
    problems = reader_problems(reader, writer)
    assert problems, "the checker must reject this pair"
    raw = write(value, writer)
    with pytest.raises(Exception):  # noqa: B017 - fastavro raises several types here
        read(raw, writer, reader)


def test_logical_unit_change_is_flagged_though_fastavro_converts_it() -> None:
    """fastavro converts with the writer's logical type, so it reads the same instant; a reader
    that applies its own logical type to the underlying long (as the Avro spec's resolution on
    underlying types allows, and Java's generic reader does) gets a different instant. The
    checker therefore flags the change."""
    writer = rec(("t", {"type": "long", "logicalType": "timestamp-millis"}))
    reader = rec(("t", {"type": "long", "logicalType": "timestamp-micros"}))
    assert [p.rule for p in reader_problems(reader, writer)] == ["logical-type"]
    moment = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
    raw = write({"t": moment}, writer)
    assert read(raw, writer, reader)["t"] == moment
    underlying = read(raw, rec(("t", "long")), rec(("t", "long")))["t"]
    as_micros = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
        microseconds=underlying
    )
    assert as_micros != moment


# -- confluent-kafka interoperability ---------------------------------------------------------

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "qty", "type": "int"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
    ],
}


def import_confluent_avro() -> tuple[Any, Any, Any, Any, Any]:
    """confluent-kafka's registry client and Avro serdes, without authlib's import warning.

    authlib (which confluent-kafka imports) installs an "always" filter for its deprecation
    warnings when first imported; importing it inside a ``catch_warnings`` block first undoes
    that filter, so the ignore below holds.
    """
    with warnings.catch_warnings():
        import authlib.deprecate  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext
    return (
        SchemaRegistryClient,
        AvroSerializer,
        AvroDeserializer,
        MessageField,
        SerializationContext,
    )


@pytest.fixture(scope="module")
def interop() -> Iterator[tuple[RegistryServer, RegistryClient, Any, Any, Any, Any]]:
    client_cls, serializer_cls, deserializer_cls, field, context = import_confluent_avro()
    with RegistryServer() as server, RegistryClient(server.url) as ours:
        theirs = client_cls({"url": server.url})
        serializer = serializer_cls(theirs, json.dumps(ORDER))
        deserializer = deserializer_cls(theirs)
        ctx = context("orders", field.VALUE)
        yield server, ours, theirs, serializer, deserializer, ctx


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values(ORDER))
def test_wire_bytes_interoperate_with_confluent_kafka(
    interop: tuple[RegistryServer, RegistryClient, Any, Any, Any, Any], value: dict[str, Any]
) -> None:
    _server, ours, _theirs, serializer, deserializer, ctx = interop
    # confluent-kafka writes (and registers the schema), we read
    raw = serializer(value, ctx)
    assert decode_payload(raw, ours.schema_by_id) == (value, None)
    # we register and write, confluent-kafka reads
    sid = ours.register("ours-value", ORDER)
    ours_raw = encode_payload(value, ORDER, schema_id=sid)
    assert ours_raw[:5] == b"\x00" + sid.to_bytes(4, "big")
    assert ours_raw[5:] == raw[5:]  # the same Avro body
    assert deserializer(ours_raw, ctx) == value


def test_confluent_registered_schema_is_found_by_id(
    interop: tuple[RegistryServer, RegistryClient, Any, Any, Any, Any],
) -> None:
    server, ours, _theirs, serializer, _deserializer, ctx = interop
    raw = serializer({"id": "o-1", "qty": 1, "note": None, "tags": []}, ctx)
    sid = int.from_bytes(raw[1:5], "big")
    assert ours.schema_by_id(sid).schema == ORDER
    assert ("POST", "/subjects/orders-value/versions") in server.state.requests
