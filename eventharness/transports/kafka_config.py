"""Kafka client settings from a broker URL: what aiokafka's producers, consumers and admin
clients are given for ``kafka://`` and ``kafkas://`` URLs.

Pure functions, no aiokafka import: :func:`client_config` maps hosts, TLS (``kafkas://``,
``cafile``/``certfile``/``keyfile``), SASL (``sasl_mechanism`` with the URL's user and
password) and ``client_id``; :func:`producer_config` adds ``acks``, ``linger_ms``,
``max_batch_size`` and ``max_request_size``. Each setting comes from the keyword options first,
then the URL's query parameters.
"""

from __future__ import annotations

import ssl
from typing import Any

from eventharness.model.channels import BrokerURL
from eventharness.model.errors import ChannelError

__all__ = ["DEFAULT_MAX_REQUEST_SIZE", "SASL_MECHANISMS", "client_config", "producer_config"]

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_MAX_REQUEST_SIZE = 16 * 1024 * 1024


def client_config(url: BrokerURL, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Connection keyword arguments shared by aiokafka producers, consumers and admin clients.

    Pure: maps the URL (hosts, TLS, SASL) and options to aiokafka's names, building an SSL
    context for ``kafkas://`` (``cafile``/``certfile``/``keyfile`` from params or options).
    """
    options = options or {}

    def opt(name: str) -> Any:
        value = options.get(name)
        return value if value is not None else url.param(name)

    config: dict[str, Any] = {"bootstrap_servers": url.bootstrap}
    client_id = opt("client_id")
    if client_id:
        config["client_id"] = str(client_id)
    mechanism = opt("sasl_mechanism")
    if mechanism is not None:
        mechanism = str(mechanism).upper()
        if mechanism not in SASL_MECHANISMS:
            raise ChannelError(
                f"broker URL {url}: sasl_mechanism={mechanism!r} is not supported; "
                f"use one of {', '.join(SASL_MECHANISMS)}"
            )
        if url.username is None or url.password is None:
            raise ChannelError(
                f"broker URL {url}: sasl_mechanism={mechanism} needs a user and password "
                "in the URL, e.g. kafka://user:password@host:9092?sasl_mechanism=PLAIN"
            )
        config["sasl_mechanism"] = mechanism
        config["sasl_plain_username"] = url.username
        config["sasl_plain_password"] = url.password
    if url.tls:
        context = ssl.create_default_context(cafile=opt("cafile"))
        certfile = opt("certfile")
        if certfile:
            context.load_cert_chain(certfile, keyfile=opt("keyfile"))
        config["ssl_context"] = context
        config["security_protocol"] = "SASL_SSL" if mechanism else "SSL"
    else:
        config["security_protocol"] = "SASL_PLAINTEXT" if mechanism else "PLAINTEXT"
    return config


def producer_config(url: BrokerURL, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Producer settings on top of :func:`client_config`: acks, batching, request size."""
    options = options or {}

    def opt(name: str, default: Any) -> Any:
        value = options.get(name)
        if value is None:
            value = url.param(name)
        return default if value is None else value

    acks: Any = opt("acks", "all")
    if acks not in ("all", -1, 0, 1):
        if str(acks) not in ("-1", "0", "1"):
            raise ChannelError(f"broker URL {url}: acks={acks!r} must be all, 0, 1 or -1")
        acks = int(acks)
    return {
        "acks": acks,
        "enable_idempotence": False,
        "linger_ms": int(opt("linger_ms", 0)),
        "max_batch_size": int(opt("max_batch_size", 16384)),
        "max_request_size": int(opt("max_request_size", DEFAULT_MAX_REQUEST_SIZE)),
    }
