"""Broker transports: one module per broker kind, all behind :mod:`eventharness.transports.base`."""

from eventharness.transports.base import Subscription, Transport, open_transport, transport_class

__all__ = ["Subscription", "Transport", "open_transport", "transport_class"]
