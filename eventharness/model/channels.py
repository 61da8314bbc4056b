"""Broker URLs and channel names.

A broker URL names a connection: ``memory://[name]``, ``kafka://host:port[,host:port]``,
``kafkas://...``, ``amqp://user:pass@host:port/vhost``, ``amqps://...``. Query parameters carry
options (``?sasl_mechanism=PLAIN``, ``?connect_timeout=5``).

A channel is ``<broker>:<address>``. What the address means depends on the broker kind:

* Kafka: a topic.
* AMQP publish: ``exchange/routing-key``; ``/queue`` publishes to a queue on the default exchange.
* AMQP collect: ``exchange/binding-pattern`` (``*`` one word, ``#`` any number).
* memory: a topic when the address has no ``/``, an exchange route when it has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from eventharness.model.errors import ChannelError

__all__ = ["DEFAULT_PORTS", "BrokerURL", "Channel", "parse_broker_url", "parse_channel", "redact"]

DEFAULT_PORTS = {"kafka": 9092, "kafkas": 9093, "amqp": 5672, "amqps": 5671}
_BROKER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class BrokerURL:
    """A parsed broker URL. ``str()`` never shows the password; use :meth:`secret` for that."""

    scheme: str
    hosts: tuple[tuple[str, int], ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """``kafka``, ``amqp``, ``memory`` or a third-party scheme, TLS folded in."""
        return {"kafkas": "kafka", "amqps": "amqp"}.get(self.scheme, self.scheme)

    @property
    def tls(self) -> bool:
        return self.scheme in ("kafkas", "amqps") or self.param("tls") in ("1", "true", "yes")

    @property
    def vhost(self) -> str:
        return unquote(self.path.lstrip("/")) or "/"

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return default

    @property
    def bootstrap(self) -> str:
        if self.scheme == "memory":
            return self.hosts[0][0] if self.hosts else "default"
        return ",".join(f"{h}:{p}" if p else h for h, p in self.hosts)

    def _render(self, password: str | None) -> str:
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if password is not None:
                auth += ":" + password
            auth += "@"
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"{self.scheme}://{auth}{self.bootstrap}{self.path}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self._render("***" if self.password is not None else None)

    def secret(self) -> str:
        """The URL with its password, for handing to a client library. Never log it."""
        return self._render(quote(self.password, safe="") if self.password is not None else None)


def parse_broker_url(url: str) -> BrokerURL:
    """Parse a broker URL, with errors that say what is wrong and what a good one looks like."""
    if not isinstance(url, str) or "://" not in url:
        raise ChannelError(
            f"broker URL {_redact_raw(url)!r} has no scheme; expected e.g. "
            "'memory://', 'kafka://127.0.0.1:9092' or 'amqp://guest:guest@127.0.0.1:5672/'"
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise ChannelError(f"broker URL {_redact_raw(url)!r} has an empty scheme")
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    if scheme == "memory":
        name = parts.netloc or parts.path.strip("/") or "default"
        return BrokerURL(scheme="memory", hosts=((name, 0),), params=params)
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        auth, netloc = netloc.rsplit("@", 1)
        user, _, pw = auth.partition(":")
        username = unquote(user)
        password = unquote(pw) if ":" in auth else None
    if not netloc:
        raise ChannelError(
            f"broker URL {_redact_raw(url)!r} names no host; expected {scheme}://host:port"
        )
    hosts: list[tuple[str, int]] = []
    for item in netloc.split(","):
        host, port = _split_host_port(item, scheme, url)
        hosts.append((host, port))
    return BrokerURL(
        scheme=scheme,
        hosts=tuple(hosts),
        username=username,
        password=password,
        path=parts.path,
        params=params,
    )


def _split_host_port(item: str, scheme: str, url: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [ipv6]:port
        host, _, rest = item[1:].partition("]")
        port_text = rest.lstrip(":")
    else:
        host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
    if not host:
        raise ChannelError(f"broker URL {_redact_raw(url)!r} has an empty host in {item!r}")
    if not port_text:  # 0: a third-party scheme's transport picks its own default
        return host, DEFAULT_PORTS.get(scheme, 0)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ChannelError(
            f"broker URL {_redact_raw(url)!r}: port {port_text!r} is not a number in 1..65535"
        )
    return host, int(port_text)


def _redact_raw(url: object) -> str:
    """Hide a password in a URL that may not even parse."""
    text = str(url)
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text)


def redact(text: str) -> str:
    """Hide passwords of any URLs inside ``text``."""
    return _redact_raw(text)


@dataclass(frozen=True, slots=True)
class Channel:
    """``broker:address`` — a topic, an exchange route, or a queue on a named broker."""

    broker: str
    address: str

    def __str__(self) -> str:
        return f"{self.broker}:{self.address}"

    @property
    def exchange(self) -> str:
        """For exchange routes: the part before the first ``/`` (empty: default exchange)."""
        return self.address.partition("/")[0]

    @property
    def routing_key(self) -> str:
        """For exchange routes: the part after the first ``/``."""
        return self.address.partition("/")[2]

    @property
    def is_route(self) -> bool:
        return "/" in self.address


def parse_channel(text: str, *, known_brokers: object = None) -> Channel:
    """Parse ``broker:address``. ``known_brokers`` (a container of names) checks the broker."""
    if not isinstance(text, str) or ":" not in text:
        raise ChannelError(
            f"channel {text!r} has no broker name; write it as 'broker:address', "
            "e.g. 'kafka:orders' or 'rabbit:shipping/shipment.*'"
        )
    broker, _, address = text.partition(":")
    broker = broker.strip()
    if not _BROKER_NAME.match(broker):
        raise ChannelError(
            f"channel {text!r}: broker name {broker!r} must start with a letter and use "
            "letters, digits, '_', '.' or '-'"
        )
    if not address or address.strip() != address:
        raise ChannelError(f"channel {text!r} has an empty or padded address after '{broker}:'")
    if known_brokers is not None and broker not in known_brokers:  # type: ignore[operator]
        names = ", ".join(sorted(known_brokers)) or "none"  # type: ignore[call-overload]
        raise ChannelError(
            f"channel {text!r} uses broker {broker!r}, which is not configured "
            f"(configured: {names}); add it with --broker {broker}=URL or in eventharness.toml"
        )
    return Channel(broker, address)
