"""eventharness: test event-driven systems on Kafka, RabbitMQ or in memory.

    import eventharness as eh

    async with eh.Harness({"kafka": "kafka://127.0.0.1:9092"}) as h:
        async with h.scenario("order ships") as s:
            pay = s.expect("kafka:payments", type="PaymentAuthorized", within=5)
            await s.publish("kafka:orders", {"type": "OrderPlaced", "order_id": "o-1"})

The names are imported on first use (PEP 562), so that ``import eventharness.pytest_plugin`` —
which pytest does in every session of a project that installed eventharness — costs nothing
until a fixture runs. Type checkers see the real imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazy table below, spelt out for type checkers and editors
    from eventharness import data
    from eventharness.contracts.builder import Contract, contract
    from eventharness.contracts.terms import (
        boolean,
        date,
        datetime,
        decimal,
        each_like,
        equal,
        include,
        integer,
        like,
        not_empty,
        null,
        number,
        regex,
        semver,
        time,
        uuid,
    )
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

_WHERE: dict[str, str] = {
    "Contract": "eventharness.contracts.builder",
    "contract": "eventharness.contracts.builder",
    "boolean": "eventharness.contracts.terms",
    "date": "eventharness.contracts.terms",
    "datetime": "eventharness.contracts.terms",
    "decimal": "eventharness.contracts.terms",
    "each_like": "eventharness.contracts.terms",
    "equal": "eventharness.contracts.terms",
    "include": "eventharness.contracts.terms",
    "integer": "eventharness.contracts.terms",
    "like": "eventharness.contracts.terms",
    "not_empty": "eventharness.contracts.terms",
    "null": "eventharness.contracts.terms",
    "number": "eventharness.contracts.terms",
    "regex": "eventharness.contracts.terms",
    "semver": "eventharness.contracts.terms",
    "time": "eventharness.contracts.terms",
    "uuid": "eventharness.contracts.terms",
    "Correlation": "eventharness.engine.correlation",
    "Expectation": "eventharness.engine.expectations",
    "Corrupt": "eventharness.engine.faults",
    "Delay": "eventharness.engine.faults",
    "Drop": "eventharness.engine.faults",
    "Duplicate": "eventharness.engine.faults",
    "Fault": "eventharness.engine.faults",
    "Pause": "eventharness.engine.faults",
    "Reorder": "eventharness.engine.faults",
    "Harness": "eventharness.engine.harness",
    "Matcher": "eventharness.engine.matchers",
    "ProbeResult": "eventharness.engine.probes",
    "command": "eventharness.engine.probes",
    "http_get": "eventharness.engine.probes",
    "Facts": "eventharness.engine.scenario",
    "Scenario": "eventharness.engine.scenario",
    "Response": "eventharness.engine.stubs",
    "Stub": "eventharness.engine.stubs",
    "BrokerURL": "eventharness.model.channels",
    "Channel": "eventharness.model.channels",
    "parse_broker_url": "eventharness.model.channels",
    "parse_channel": "eventharness.model.channels",
    "BrokerError": "eventharness.model.errors",
    "BrokerUnavailable": "eventharness.model.errors",
    "ChannelError": "eventharness.model.errors",
    "ChannelNotFound": "eventharness.model.errors",
    "ConfigError": "eventharness.model.errors",
    "EventHarnessError": "eventharness.model.errors",
    "MissingDependency": "eventharness.model.errors",
    "ScenarioFailed": "eventharness.model.errors",
    "ScenarioFileError": "eventharness.model.errors",
    "UsageError": "eventharness.model.errors",
    "Event": "eventharness.model.events",
    "Message": "eventharness.model.events",
    "Position": "eventharness.model.events",
    "Record": "eventharness.model.events",
    "FAILURE_KINDS": "eventharness.model.result",
    "Failure": "eventharness.model.result",
    "ScenarioResult": "eventharness.model.result",
    "Subscription": "eventharness.transports.base",
    "Transport": "eventharness.transports.base",
    "open_transport": "eventharness.transports.base",
}


def __getattr__(name: str) -> Any:
    if name == "data":  # a namespace of its own: eh.data.from_schema(...), eh.data.invalid(...)
        return importlib.import_module("eventharness.data")
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eventharness' has no attribute {name!r}")
    # Not cached here: the module's own entry in sys.modules is the one truth, so a class
    # always comes from the module that the rest of the package imported (pytester, for one,
    # removes the modules a test run imported; a cached class would then be a stale twin).
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


__all__ = [
    "FAILURE_KINDS",
    "BrokerError",
    "BrokerURL",
    "BrokerUnavailable",
    "Channel",
    "ChannelError",
    "ChannelNotFound",
    "ConfigError",
    "Contract",
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
    "boolean",
    "command",
    "contract",
    "data",
    "date",
    "datetime",
    "decimal",
    "each_like",
    "equal",
    "http_get",
    "include",
    "integer",
    "like",
    "not_empty",
    "null",
    "number",
    "open_transport",
    "parse_broker_url",
    "parse_channel",
    "regex",
    "semver",
    "time",
    "uuid",
]
