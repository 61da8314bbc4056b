"""Broker transports, all behind :mod:`eventharness.transports.base`.

One entry per broker kind: ``memory`` (a package: subscription, topics, exchanges, broker,
transport), ``kafka`` (with ``kafka_config``: URL to aiokafka settings) and ``amqp`` (with
``amqp_connection``: URL to a connection, and ``amqp_mapping``: records and addresses to AMQP).
Each is imported only when a URL of its scheme is used.
"""

from eventharness.transports.base import Subscription, Transport, open_transport, transport_class

__all__ = ["Subscription", "Transport", "open_transport", "transport_class"]
