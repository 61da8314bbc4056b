"""Importing AsyncAPI documents (2.6, 3.0, 3.1): servers, channels with bindings, messages with
their schemas and correlation ids, operations and their services; refs; errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventharness.asyncapi import load_document
from eventharness.model.errors import AsyncApiError

FIXTURES = Path(__file__).parent / "fixtures"


def test_kafka_document_servers_channels_and_messages() -> None:
    doc = load_document(FIXTURES / "lights-kafka.yaml")
    assert doc.version == "3.1.0" and doc.title == "Lamp posts"
    scram = doc.servers["scram"]
    assert scram.url == "kafkas://kafka.example.org:18092"
    assert scram.security == ("scram: scramSha256",)
    brightness = doc.channels["brightness"]
    assert brightness.target("kafka") == "kafka:town.lamps.{lampId}.brightness"
    assert brightness.kafka is not None and brightness.kafka.partitions == 6
    assert brightness.pattern().match("town.lamps.42.brightness")
    assert not brightness.pattern().match("town.lamps.42.dim")
    (measured,) = brightness.messages
    # refs inlined (sentAt), traits merged (headers from commonHeaders)
    assert measured.payload["properties"]["sentAt"] == {"type": "string", "format": "date-time"}
    assert measured.headers["properties"]["my-app-header"]["maximum"] == 100
    assert measured.examples[0].payload == {"lumens": 120, "sentAt": "2026-01-01T17:00:00Z"}
    assert doc.channels["switchOn"].messages[0].name == "onOff"
    receive = doc.operations["receiveBrightness"]
    assert (receive.action, receive.channel, receive.messages) == (
        "receive",
        "brightness",
        ("measured",),
    )
    # no operation names its service: the document is one application, named by its title
    assert {op.service for op in doc.operations.values()} == {"Lamp posts"}


def test_amqp_rpc_pair_queues_and_correlation() -> None:
    server = load_document(FIXTURES / "sum-server.yaml")
    client = load_document(FIXTURES / "sum-client.yaml")
    assert server.servers["production"].url == "amqp://rabbit.example.org/"
    queue = server.channels["sum_queue"]
    assert queue.protocol == "amqp" and queue.target("rabbit") == "rabbit:/sum_queue"
    assert queue.messages[0].rule == "headers.correlation_id"
    assert client.channels["replies"].target("rabbit") == "rabbit:/replies"  # address: null
    assert [op.action for op in client.operations.values()] == ["receive", "send"]
    assert client.operations["requestSum"].channel == "sum_queue"


def test_correlation_ids_header_payload_and_by_ref() -> None:
    doc = load_document(FIXTURES / "correlation.yaml")
    assert doc.channels["brightness"].messages[0].rule == "headers.MQMD.CorrelId"
    assert doc.channels["dim"].messages[0].rule == "value.sentAt"  # via components.correlationIds


def test_application_headers_schema() -> None:
    doc = load_document(FIXTURES / "headers.yaml")
    headers = doc.channels["brightness"].messages[0].headers
    assert headers["properties"]["MQMD"]["properties"]["CorrelId"]["minLength"] == 24


def test_version_2_6_publish_subscribe_one_of_avro_and_file_refs() -> None:
    doc = load_document(FIXTURES / "shop-2.6.yaml")
    assert doc.version == "2.6.0"
    assert doc.servers["local"].security == ("sasl: scramSha512",)
    orders = doc.channels["orders"]
    assert orders.kafka is not None and (orders.kafka.topic, orders.kafka.partitions) == (
        "orders",
        4,
    )
    assert orders.messages[0].payload["required"] == ["type", "order_id"]  # from parts/order.yaml
    assert orders.messages[0].rule == "headers.correlation-id"
    payments = doc.channels["payments"]
    assert [(m.name, m.schema_format) for m in payments.messages] == [
        ("PaymentAuthorized", "json"),
        ("PaymentDeclined", "avro"),
    ]
    # 2.6: subscribe = the application sends, publish = it receives
    assert doc.operations["sendPayment"].action == "send"
    assert doc.operations["onOrder"].action == "receive"
    assert doc.services() == ["payments"]


def test_flows_are_sends_someone_receives(tmp_path: Path) -> None:
    doc_path = tmp_path / "a.yaml"
    doc_path.write_text(
        """\
asyncapi: 3.0.0
info: {title: shop, version: 1.0.0}
channels:
  orders:
    messages:
      placed: {payload: {type: object}}
operations:
  place: {action: send, channel: {$ref: '#/channels/orders'}, x-service: web}
  pay: {action: receive, channel: {$ref: '#/channels/orders'}, x-service: payments}
"""
    )
    doc = load_document(doc_path)
    assert [(a.id, b.id) for a, b in doc.flows()] == [("place", "pay")]
    assert doc.services() == ["payments", "web"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("asyncapi: 9.9.0\ninfo: {title: x, version: '1'}\n", 1, "is not a version"),
        (
            "asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\nchannels:\n  a:\n"
            "    messages:\n      m: {$ref: '#/components/messages/nope'}\n",
            6,
            "points at nothing",
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\nchannels:\n  a:\n"
            "    messages:\n      m: {payload: {$ref: 'missing.yaml#/X'}}\n",
            6,
            "cannot read it",
        ),
        (
            "asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\ncomponents:\n  schemas:\n"
            "    a: {$ref: '#/components/schemas/b'}\n    b: {$ref: '#/components/schemas/a'}\n"
            "channels:\n  c:\n    messages:\n"
            "      m: {payload: {$ref: '#/components/schemas/a'}}\n",
            6,  # the ref that closes the loop
            "loops back",
        ),
        ("asyncapi: 3.0.0\ninfo: [\n", 3, "YAML syntax error"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(AsyncApiError) as caught:
        load_document(path)
    message = str(caught.value)
    assert words in message
    assert message.startswith(f"{path}:{line}: "), message


def test_json_documents_with_lines(tmp_path: Path) -> None:
    import json

    import yaml

    data = yaml.safe_load((FIXTURES / "lights-kafka.yaml").read_text())
    good = tmp_path / "lights.json"
    good.write_text(json.dumps(data, indent=2))
    assert load_document(good).channels["brightness"].kafka is not None
    data["channels"]["dim"]["messages"]["dim"] = {"$ref": "#/components/messages/nope"}
    bad = tmp_path / "bad.json"
    text = json.dumps(data, indent=2)
    bad.write_text(text)
    # the line of the key whose value is the ref (the `"dim": {` just above the `"$ref"`)
    line = text.splitlines().index('          "$ref": "#/components/messages/nope"')
    with pytest.raises(AsyncApiError) as caught:
        load_document(bad)
    assert str(caught.value).startswith(f"{bad}:{line}: $ref '#/components/messages/nope'")
