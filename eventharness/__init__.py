"""eventharness: test event-driven systems on Kafka, RabbitMQ or in memory."""

from eventharness.channels import BrokerURL, Channel, parse_broker_url, parse_channel
from eventharness.errors import (
    BrokerError,
    BrokerUnavailable,
    ChannelError,
    ChannelNotFound,
    ConfigError,
    EventHarnessError,
    MissingDependency,
    ScenarioFailed,
    ScenarioFileError,
    UsageError,
)
from eventharness.events import Event, Message, Position, Record

__version__ = "0.1.0"

__all__ = [
    "BrokerError",
    "BrokerURL",
    "BrokerUnavailable",
    "Channel",
    "ChannelError",
    "ChannelNotFound",
    "ConfigError",
    "Event",
    "EventHarnessError",
    "Message",
    "MissingDependency",
    "Position",
    "Record",
    "ScenarioFailed",
    "ScenarioFileError",
    "UsageError",
    "__version__",
    "parse_broker_url",
    "parse_channel",
]
