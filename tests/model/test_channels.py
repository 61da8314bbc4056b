from __future__ import annotations

import pytest

from eventharness import ChannelError, parse_broker_url, parse_channel


def test_kafka_url_with_several_hosts_and_default_port() -> None:
    url = parse_broker_url("kafka://a:9092,b")
    assert url.hosts == (("a", 9092), ("b", 9092))
    assert url.kind == "kafka" and not url.tls


def test_amqp_url_redacts_password_everywhere() -> None:
    url = parse_broker_url("amqps://user:s3cr%40t@rabbit:5671/prod?connect_timeout=3")
    assert url.password == "s3cr@t"
    assert "s3cr" not in str(url) and "s3cr" not in repr(url)
    assert str(url) == "amqps://user:***@rabbit:5671/prod?connect_timeout=3"
    assert url.vhost == "prod" and url.tls and url.kind == "amqp"
    assert url.param("connect_timeout") == "3"
    assert "s3cr%40t" in url.secret()


def test_memory_urls_name_brokers() -> None:
    assert parse_broker_url("memory://").hosts[0][0] == "default"
    assert parse_broker_url("memory://shop").hosts[0][0] == "shop"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1:9092", "has no scheme"),
        ("kafka://", "names no host"),
        ("kafka://host:port", "port 'port' is not a number"),
        ("kafka://host:70000", "is not a number in 1..65535"),
        ("amqp://guest:hunter2@:5672", "empty host"),
    ],
)
def test_bad_broker_urls_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ChannelError, match=message) as caught:
        parse_broker_url(text)
    assert "hunter2" not in str(caught.value)


def test_channels() -> None:
    ch = parse_channel("rabbit:shipping/shipment.*")
    assert (ch.broker, ch.exchange, ch.routing_key, ch.is_route) == (
        "rabbit",
        "shipping",
        "shipment.*",
        True,
    )
    assert str(ch) == "rabbit:shipping/shipment.*"
    queue = parse_channel("rabbit:/orders-q")
    assert (queue.exchange, queue.routing_key) == ("", "orders-q")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("orders", "has no broker name"),
        ("kafka:", "empty or padded address"),
        ("1x:orders", "must start with a letter"),
    ],
)
def test_bad_channels(text: str, message: str) -> None:
    with pytest.raises(ChannelError, match=message):
        parse_channel(text)


def test_unknown_broker_names_the_remedy() -> None:
    with pytest.raises(
        ChannelError,
        match=r"not configured \(configured: kafka\); add it with "
        r"--broker rabbit=URL",
    ):
        parse_channel("rabbit:x/y", known_brokers={"kafka": 1})
