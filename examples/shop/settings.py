"""Service configuration, read once from environment variables at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

N = TypeVar("N", int, float)

#: Every fault a service can be started with, and the service that acts on it. Each service
#: accepts all of them (one FAULT value can be shared by the whole system) and acts on its own.
FAULTS: dict[str, str] = {
    "reorder": "payments",
    "drop": "payments",
    "slow": "payments",
    "bad-schema": "payments",
    "lost-correlation": "payments",
    # orders of total >= payment_limit (1000) are paid 99% of their total: only big orders
    # break, so a property-based run over generated orders finds it and shrinks to 1000
    "big-total": "payments",
    # offsets auto-committed as orders are read, before they are paid; a payment that cannot
    # be sent (the broker unreachable for longer than SEND_TIMEOUT) is given up: order lost
    "commit-early": "payments",
    "duplicate": "shipping",
    # shipping handles payments in a trace of its own: `trace: propagated` fails naming it
    "drop-trace": "shipping",
    "stale-view": "orders-view",
}


class SettingsError(ValueError):
    """An environment variable has a value the services cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    orders_topic: str = "orders"
    payments_topic: str = "payments"
    shipping_exchange: str = "shipping"
    group_prefix: str = "shop"
    orders_view_port: int = 8080
    faults: frozenset[str] = frozenset()
    slow_seconds: float = 8.0
    drop_every: int = 1
    reorder_window: float = 2.0
    payment_limit: float = 1000.0
    payment_seconds: float = 0.0  # how long a payment takes (the payment provider's answer)
    send_timeout: float = 30.0  # seconds a record may wait for the broker before it fails

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            kafka_bootstrap=_bootstrap(env.get("KAFKA_BOOTSTRAP", defaults.kafka_bootstrap)),
            amqp_url=env.get("AMQP_URL", defaults.amqp_url),
            orders_topic=env.get("ORDERS_TOPIC", defaults.orders_topic),
            payments_topic=env.get("PAYMENTS_TOPIC", defaults.payments_topic),
            shipping_exchange=env.get("SHIPPING_EXCHANGE", defaults.shipping_exchange),
            group_prefix=env.get("GROUP_PREFIX", defaults.group_prefix),
            orders_view_port=_number(env, "ORDERS_VIEW_PORT", int, defaults.orders_view_port),
            faults=_faults(env.get("FAULT", "")),
            slow_seconds=_number(env, "SLOW_SECONDS", float, defaults.slow_seconds),
            drop_every=_number(env, "DROP_EVERY", int, defaults.drop_every, minimum=1),
            reorder_window=_number(env, "REORDER_WINDOW", float, defaults.reorder_window),
            payment_seconds=_number(env, "PAYMENT_SECONDS", float, defaults.payment_seconds),
            send_timeout=_number(env, "SEND_TIMEOUT", float, defaults.send_timeout, minimum=0.1),
        )

    def group(self, service: str) -> str:
        return f"{self.group_prefix}-{service}"


def _bootstrap(value: str) -> str:
    """``host:port[,host:port]``; a ``kafka://`` URL is accepted too."""
    value = value.strip().removeprefix("kafka://").rstrip("/")
    if not value:
        raise SettingsError("KAFKA_BOOTSTRAP is empty: expected host:port, e.g. 127.0.0.1:9092")
    return value


def _faults(value: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(names - FAULTS.keys())
    if unknown:
        raise SettingsError(
            f"FAULT has unknown value(s) {', '.join(map(repr, unknown))}; "
            f"valid values (comma-separated): {', '.join(FAULTS)}"
        )
    return names


def _number(
    env: Mapping[str, str], name: str, kind: type[N], default: N, minimum: N | None = None
) -> N:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0 or (minimum is not None and value < minimum):
        raise SettingsError(f"{name}={raw!r} is too small (minimum {minimum or 0})")
    return value
