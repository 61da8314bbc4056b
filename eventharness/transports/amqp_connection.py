"""Opening a RabbitMQ connection from a broker URL, and saying why it failed.

:func:`open_connection` tries the URL's hosts in turn within the connect timeout (login and
password from the URL, default ``guest``/``guest``; the URL's virtual host; TLS for ``amqps://``
with ``cafile`` from the options or the URL) and stops at the first broker that answers, even
with a refusal, since another host would say the same. A failure is a BrokerUnavailable that
names the cause (timeout, refused login, unknown virtual host, unreachable) and the fix.
:func:`reason` words any aiormq or socket error for the transport's other messages.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import BrokerUnavailable

__all__ = ["START_HINT", "open_connection", "reason"]

START_HINT = (
    "start it with `rabbitmq-server -detached` "
    "(or `docker compose -f compose/docker-compose.yml up -d`)"
)
_AUTH_ERRORS = (
    aiormq.exceptions.ProbableAuthenticationError,
    aiormq.exceptions.AuthenticationError,
)


async def open_connection(
    url: BrokerURL, options: Mapping[str, Any], connect_timeout: float
) -> AbstractConnection:
    """A connection to the first host of ``url`` that answers within ``connect_timeout`` s."""
    connection: AbstractConnection | None = None
    last: BaseException | None = None
    try:
        async with asyncio.timeout(connect_timeout):
            for host, port in url.hosts:
                try:
                    connection = await aio_pika.connect(
                        host=host,
                        port=port,
                        login=url.username or "guest",
                        password=url.password or "guest",
                        virtualhost=url.vhost,
                        ssl=url.tls,
                        ssl_context=_ssl_context(url, options),
                        client_properties={"connection_name": "eventharness"},
                    )
                    break
                except (aiormq.exceptions.AMQPError, OSError) as exc:
                    last = exc
                    if _is_refusal(exc):
                        break  # the broker answered: another host would say the same
    except TimeoutError as exc:
        raise BrokerUnavailable(
            f"RabbitMQ at {url} did not answer within {connect_timeout:g}s; {START_HINT}, "
            "check the host and port, or raise connect_timeout"
        ) from (last or exc)
    if connection is None:
        assert last is not None
        raise _connect_error(url, last) from last
    return connection


def _ssl_context(url: BrokerURL, options: Mapping[str, Any]) -> ssl.SSLContext | None:
    if not url.tls:
        return None
    cafile = options.get("cafile") or url.param("cafile")
    return ssl.create_default_context(cafile=cafile)


def _connect_error(url: BrokerURL, exc: BaseException) -> BrokerUnavailable:
    user = url.username or "guest"
    if isinstance(exc, _AUTH_ERRORS):
        return BrokerUnavailable(
            f"RabbitMQ at {url} refused the login of user {user!r} (ACCESS_REFUSED); "
            "check the user name and password in the broker URL (the default user "
            "guest/guest may only log in from localhost)"
        )
    if _is_refusal(exc):
        vhost = url.vhost
        return BrokerUnavailable(
            f"RabbitMQ at {url} refused virtual host {vhost!r} to user {user!r}: it "
            f"does not exist or the user has no permissions on it; create it with "
            f"`rabbitmqctl add_vhost {vhost}` and "
            f"`rabbitmqctl set_permissions -p {vhost} {user} '.*' '.*' '.*'`, or fix the "
            "URL path (the default vhost '/' is written amqp://host:5672/)"
        )
    return BrokerUnavailable(
        f"cannot connect to RabbitMQ at {url}: {reason(exc)}; {START_HINT} "
        "or check the host, port and TLS settings of the URL"
    )


def _is_refusal(exc: BaseException) -> bool:
    """The broker closed the connection during the handshake (e.g. an unknown vhost)."""
    if isinstance(exc, aiormq.exceptions.ConnectionNotAllowed):
        return True
    return isinstance(exc, aiormq.exceptions.InvalidFrameError) and "Connection.Close" in str(exc)


def reason(exc: BaseException) -> str:
    """The short text of an aiormq or socket error, for a message."""
    if isinstance(exc, OSError) and exc.strerror:  # includes aiormq's connection errors
        return exc.strerror
    text = str(exc.args[0]) if exc.args else ""
    return text or type(exc).__name__
