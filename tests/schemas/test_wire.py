from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventharness.schemas import AvroValidator, decode_payload, encode_payload, schema_id_of
from eventharness.schemas.avro import decode

SCHEMA = {
    "type": "record",
    "name": "Payment",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "amount", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
JSON_SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}
VALUE = {"order_id": "o-1", "amount": 4200, "note": None}


def test_plain_avro_round_trip() -> None:
    raw = encode_payload(VALUE, SCHEMA)
    assert raw[0] != 0 or schema_id_of(raw) is None or len(raw) < 5
    assert decode(raw, SCHEMA) == VALUE


def test_wire_format_layout_and_round_trip() -> None:
    raw = encode_payload(VALUE, AvroValidator(SCHEMA), schema_id=258)
    assert raw[:5] == b"\x00" + struct.pack(">I", 258)
    assert raw[5:] == encode_payload(VALUE, SCHEMA)
    seen: list[int] = []

    def resolver(schema_id: int) -> Any:
        seen.append(schema_id)
        return SCHEMA

    assert decode_payload(raw, resolver) == (VALUE, None)
    assert seen == [258]


def test_json_schema_in_wire_format() -> None:
    raw = encode_payload({"order_id": "o-1"}, JSON_SCHEMA, schema_id=3)
    assert (
        raw
        == b"\x00\x00\x00\x00\x03" + json.dumps({"order_id": "o-1"}, separators=(",", ":")).encode()
    )
    assert decode_payload(raw, lambda _id: JSON_SCHEMA) == ({"order_id": "o-1"}, None)


def test_plain_json_and_text() -> None:
    assert encode_payload({"a": 1}) == b'{"a":1}'
    assert decode_payload(b'{"a":1}') == ({"a": 1}, None)
    assert decode_payload(b"hello") == ("hello", None)


@pytest.mark.parametrize(
    ("raw", "resolver", "reason"),
    [
        (b"\x00\x00\x00\x00\x09\x02", None, "no schema registry is configured"),
        (
            b"\x00\x00\x00\x00\x09\x02",
            lambda i: (_ for _ in ()).throw(KeyError(i)),
            "cannot get the writer schema",
        ),
        (b"\x00\x00\x00\x00\x09\xff\xff\xff", lambda i: SCHEMA, "not valid Avro"),
        (b"\x00\x00\x00\x00\x09{oops", lambda i: JSON_SCHEMA, "not valid JSON"),
        (b"\xff\xfe\x00garbage", None, "not UTF-8"),
    ],
)
def test_undecodable_payload_is_an_error_with_a_byte_preview(
    raw: bytes, resolver: Any, reason: str
) -> None:
    value, error = decode_payload(raw, resolver)
    assert value == raw
    assert error is not None
    assert reason in error
    assert raw[:4].hex(" ") in error


def test_left_over_bytes_are_an_error() -> None:
    raw = encode_payload(VALUE, SCHEMA, schema_id=1) + b"\x00\x01"
    _, error = decode_payload(raw, lambda i: SCHEMA)
    assert error is not None
    assert "2 bytes left over" in error


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40))
def test_decode_never_raises(raw: bytes) -> None:
    value, error = decode_payload(raw, lambda i: SCHEMA)
    if error is None:
        assert not isinstance(value, bytes)
    else:
        assert value == raw
        assert raw[:1].hex() in error


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "order_id": st.text(max_size=20),
            "amount": st.integers(-(2**63), 2**63 - 1),
            "note": st.none() | st.text(max_size=10),
        }
    ),
    st.integers(0, 2**32 - 1),
)
def test_wire_round_trip_property(value: dict[str, Any], schema_id: int) -> None:
    raw = encode_payload(value, SCHEMA, schema_id=schema_id)
    assert schema_id_of(raw) == schema_id
    assert decode_payload(raw, lambda i: SCHEMA) == (value, None)
