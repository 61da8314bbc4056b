"""Every error eventharness raises.

    EventHarnessError
    ├── UsageError            bad input: exit code 2, nothing ran
    │   ├── ChannelError      a malformed channel or broker URL
    │   ├── ConfigError       eventharness.toml / [tool.eventharness]
    │   ├── ScenarioFileError a YAML scenario file (carries every problem, with file:line)
    │   ├── MissingDependency an optional extra is not installed (also an ImportError)
    │   ├── ContractError     an unusable pact file or contract (names the file and JSON path)
    │   └── AsyncApiError     an unusable AsyncAPI document (every problem, with file:line)
    ├── BrokerError           something a broker did or refused
    │   ├── BrokerUnavailable cannot connect within the timeout: exit code 2
    │   │   └── RegistryUnavailable   the schema registry cannot be reached (also a RegistryError)
    │   ├── ChannelNotFound   a topic/exchange that does not exist
    │   └── RegistryError     the schema registry refused or answered nonsense
    │       └── SchemaNotFound        a subject/version/id it does not have (also a ConfigError)
    ├── StubError             a virtual service failed (its responder raised, a reply could not go)
    ├── ServiceError          a service of the environment did not start or become ready
    └── ScenarioFailed        an expectation did not hold (also an AssertionError)

Backend exceptions (aiokafka, aiormq, ...) are mapped at the transport boundary and chained,
so callers never need to catch a client library's exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventharness.model.result import ScenarioResult

__all__ = [
    "AsyncApiError",
    "BrokerError",
    "BrokerUnavailable",
    "ChannelError",
    "ChannelNotFound",
    "ConfigError",
    "ContractError",
    "EventHarnessError",
    "MissingDependency",
    "RegistryError",
    "RegistryUnavailable",
    "ScenarioFailed",
    "ScenarioFileError",
    "SchemaNotFound",
    "ServiceError",
    "StubError",
    "UsageError",
]


class EventHarnessError(Exception):
    """Base of everything eventharness raises."""


class UsageError(EventHarnessError):
    """Input that cannot be used: a remedy is part of the message."""


class ChannelError(UsageError, ValueError):
    """A channel name or broker URL that cannot be parsed."""


class ConfigError(UsageError):
    """A configuration file or option that is wrong."""


class ScenarioFileError(UsageError):
    """One or more problems in scenario files, each with file:line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in scenario files:"
        super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))


class ContractError(UsageError):
    """A pact file or contract declaration that cannot be used: the message names the file and
    the JSON path of the problem (a malformed file, an unknown specification version, matcher
    or generator, a regex matcher whose example does not match its own regex)."""


class MissingDependency(UsageError, ImportError):
    """An optional extra is needed: the message carries the install line."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        super().__init__(f"{feature} needs {package}: pip install 'eventharness[{extra}]'")


class BrokerError(EventHarnessError):
    """A broker refused or failed an operation."""


class BrokerUnavailable(BrokerError):
    """Could not reach a broker in time. The message names the URL (no password) and a fix."""


class ChannelNotFound(BrokerError):
    """The topic, exchange or queue does not exist and was not created."""


class RegistryError(BrokerError):
    """The schema registry refused a request or answered something unexpected."""


class RegistryUnavailable(BrokerUnavailable, RegistryError):
    """The schema registry could not be reached."""


class SchemaNotFound(ConfigError, RegistryError):
    """A subject, version or schema id the registry does not have."""


class StubError(EventHarnessError):
    """A virtual service failed: its responder raised, or a reply could not be built or sent."""


class ServiceError(EventHarnessError):
    """A service or the embedded broker did not start, exited, or did not become ready (exit 2)."""


class ScenarioFailed(EventHarnessError, AssertionError):
    """A scenario's expectations did not hold. ``str()`` is a readable timeline."""

    def __init__(self, result: ScenarioResult) -> None:
        self.result = result
        super().__init__(result.explain())

    @property
    def failures(self) -> list[object]:
        return list(self.result.failures)


class AsyncApiError(UsageError):
    """One or more problems in an AsyncAPI document, each with file:line (exit code 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            super().__init__(self.problems[0])
        else:
            n = len(self.problems)
            head = f"{n} problems in the AsyncAPI document:"
            super().__init__("\n".join([head, *(f"  {p}" for p in self.problems)]))
