"""eventharness: test event-driven systems on Kafka, RabbitMQ or in memory.

    import eventharness as eh

    async with eh.Harness({"kafka": "kafka://127.0.0.1:9092"}) as h:
        async with h.scenario("order ships") as s:
            pay = s.expect("kafka:payments", type="PaymentAuthorized", within=5)
            await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1"})
"""

from eventharness.engine.correlation import Correlation
from eventharness.engine.expectations import Expectation
from eventharness.engine.faults import Corrupt, Delay, Drop, Duplicate, Fault, Pause, Reorder
from eventharness.engine.harness import Harness
from eventharness.engine.matchers import Matcher
from eventharness.engine.probes import ProbeResult, command, http_get
from eventharness.engine.scenario import Facts, Scenario
from eventharness.engine.stubs import Response, Stub
from eventharness.model.channels import BrokerURL, Channel, parse_broker_url, parse_channel
from eventharness.model.errors import (
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
from eventharness.model.events import Event, Message, Position, Record
from eventharness.model.result import FAILURE_KINDS, Failure, ScenarioResult
from eventharness.transports.base import Subscription, Transport, open_transport

__version__ = "0.1.0"

__all__ = [
    "FAILURE_KINDS",
    "BrokerError",
    "BrokerURL",
    "BrokerUnavailable",
    "Channel",
    "ChannelError",
    "ChannelNotFound",
    "ConfigError",
    "Correlation",
    "Corrupt",
    "Delay",
    "Drop",
    "Duplicate",
    "Event",
    "EventHarnessError",
    "Expectation",
    "Facts",
    "Failure",
    "Fault",
    "Harness",
    "Matcher",
    "Message",
    "MissingDependency",
    "Pause",
    "Position",
    "ProbeResult",
    "Record",
    "Reorder",
    "Response",
    "Scenario",
    "ScenarioFailed",
    "ScenarioFileError",
    "ScenarioResult",
    "Stub",
    "Subscription",
    "Transport",
    "UsageError",
    "__version__",
    "command",
    "http_get",
    "open_transport",
    "parse_broker_url",
    "parse_channel",
]
