from __future__ import annotations

import json
import socket

import pytest

from eventharness.model.errors import BrokerUnavailable, ConfigError, UsageError
from eventharness.schemas import (
    AvroValidator,
    JsonSchemaValidator,
    RegistryClient,
    RegistryUnavailable,
    SchemaNotFound,
    decode_payload,
    encode_payload,
)
from tests.schemas.registry_server import RegistryServer

V1 = {"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]}
V2 = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int", "default": 0}],
}
JSON_SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def test_register_and_look_up(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        id1 = registry.register("orders-value", V1)
        id2 = registry.register("orders-value", V2)
        assert registry.register("orders-value", V2) == id2  # idempotent
        jid = registry.register("refunds-value", JSON_SCHEMA, kind="json")
        assert len({id1, id2, jid}) == 3

        latest = registry.get("orders-value")
        assert (latest.version, latest.schema_id, latest.kind, latest.schema) == (
            2,
            id2,
            "avro",
            V2,
        )
        assert registry.get("orders-value", 1).schema == V1
        assert registry.versions("orders-value") == [1, 2]
        assert registry.subjects() == ["orders-value", "refunds-value"]
        assert registry.schema_by_id(jid).kind == "json"
        assert isinstance(registry.validator("orders-value@1"), AvroValidator)
        assert isinstance(registry.validator("refunds-value"), JsonSchemaValidator)
        assert registry.validator("refunds-value").validate({})[0].rule == "required"


def test_lookups_are_cached(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        sid = registry.register("orders-value", V1)
        registry_server.state.requests.clear()
        for _ in range(3):
            registry.schema_by_id(sid)
            registry.get("orders-value", 1)
            registry.validator("orders-value@1")
        assert registry_server.state.requests == [
            ("GET", f"/schemas/ids/{sid}"),
            ("GET", "/subjects/orders-value/versions/1"),
        ]


def test_latest_is_refreshed_after_register(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        registry.register("orders-value", V1)
        assert registry.get("orders-value").version == 1
        registry.register("orders-value", V2)
        assert registry.get("orders-value").version == 2


def test_compatibility_config(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        assert registry.compatibility() == "BACKWARD"
        assert registry.compatibility("orders-value") == "BACKWARD"  # falls back to global
        assert registry.set_compatibility("full_transitive", "orders-value") == "FULL_TRANSITIVE"
        assert registry.compatibility("orders-value") == "FULL_TRANSITIVE"
        assert registry.compatibility() == "BACKWARD"
        with pytest.raises(UsageError, match="unknown compatibility mode 'SIDEWAYS'"):
            registry.set_compatibility("sideways")


def test_wire_format_decodes_through_the_registry(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        sid = registry.register("orders-value", V2)
        raw = encode_payload({"id": "o-1", "n": 3}, V2, schema_id=sid)
        assert decode_payload(raw, registry.schema_by_id) == ({"id": "o-1", "n": 3}, None)
        unknown = encode_payload({"id": "o-1"}, V1, schema_id=99)
        value, error = decode_payload(unknown, registry.schema_by_id)
        assert value == unknown
        assert error is not None
        assert "schema id 99" in error
        assert "Schema not found" in error


def test_missing_subject_and_version_name_them_and_the_url(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        with pytest.raises(SchemaNotFound) as info:
            registry.get("orders-valeu")
        assert isinstance(info.value, ConfigError)
        assert "subject 'orders-valeu' version latest" in str(info.value)
        assert registry_server.url in str(info.value)
        assert "error code 40401" in str(info.value)
        registry.register("orders-value", V1)
        with pytest.raises(SchemaNotFound, match="subject 'orders-value' version 5"):
            registry.get("orders-value", 5)


def test_credentials_are_sent_and_never_shown() -> None:
    with RegistryServer(credentials=("svc", "s3cret")) as server:
        host_port = server.url.removeprefix("http://")
        with RegistryClient(f"http://svc:s3cret@{host_port}") as registry:
            sid = registry.register("orders-value", V1)
            assert registry.schema_by_id(sid).schema == V1
            assert "s3cret" not in repr(registry)
            with pytest.raises(SchemaNotFound) as info:
                registry.get("nope")
            assert "s3cret" not in str(info.value)
            assert "svc:***@" in str(info.value)
        with RegistryClient(f"http://svc:wrong@{host_port}") as registry:
            with pytest.raises(Exception, match="HTTP 401") as denied:
                registry.subjects()
            assert "wrong" not in str(denied.value)


def test_unreachable_registry_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    registry = RegistryClient(f"http://user:pw@127.0.0.1:{port}", timeout=2)
    with registry, pytest.raises(RegistryUnavailable) as info:
        registry.schema_by_id(1)
    assert isinstance(info.value, BrokerUnavailable)
    text = str(info.value)
    assert f"http://user:***@127.0.0.1:{port}" in text
    assert "not reachable" in text
    assert ":pw@" not in text


def test_url_must_be_http() -> None:
    with pytest.raises(UsageError, match="http:// or https://"):
        RegistryClient("kafka://127.0.0.1:9092")


def test_register_sends_registry_shaped_bodies(registry_server: RegistryServer) -> None:
    with RegistryClient(registry_server.url) as registry:
        registry.register("refunds-value", JSON_SCHEMA, kind="json")
    stored = registry_server.state.schemas[0]
    assert stored["schemaType"] == "JSON"
    assert json.loads(stored["schema"]) == JSON_SCHEMA
