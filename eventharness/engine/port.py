"""The port: what a scenario and a stub need from the harness that runs them.

:class:`~eventharness.engine.harness.Harness` implements it, and it is the only thing
:mod:`~eventharness.engine.scenario`, :mod:`~eventharness.engine.stubs` and
:mod:`~eventharness.engine.outgoing` know of the harness: named channels and brokers, schemas
and payloads, correlation settings, and the shared collector's operations. The harness builds
scenarios and stubs; they never import it, so the arrows run one way::

    harness ─→ scenario ─→ verdict, waiting, probes, expectations
       │          └──────→ stubs ─→ faults ─→ outgoing ─→ port ─→ collector, correlation
       └─→ collector                    (recording ─→ stubs, outgoing)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from eventharness.engine.collector import Sink
from eventharness.engine.correlation import Correlation
from eventharness.engine.incidents import Incident
from eventharness.engine.network import Network
from eventharness.model.channels import Channel
from eventharness.model.events import Event
from eventharness.tracing.base import SpanSource, Tracing
from eventharness.transports.base import Transport

__all__ = ["Port"]


class Port(Protocol):
    """The harness as a scenario or a stub sees it."""

    # -- settings --------------------------------------------------------------------------

    @property
    def correlation(self) -> Correlation: ...

    @property
    def within(self) -> float:
        """The default window of an expectation, in seconds."""

    @property
    def cross_broker_slack(self) -> float:
        """How much earlier than its ``after=`` event an event on another broker may be seen."""

    @property
    def tracing(self) -> Tracing | None:
        """Spans of scenarios, when tracing is on; None (the default) when it is off."""

    @property
    def receiver(self) -> SpanSource | None:
        """Spans the system under test sends (OTLP), when a receiver runs; None otherwise."""

    @property
    def network(self) -> Network | None:
        """Where network faults go (the environment's proxies); None when there is none."""

    @property
    def channel_schemas(self) -> Mapping[str, str | Mapping[str, str]]:
        """Schemas bound to channels (empty when none are: the hot path checks that first)."""

    # -- channels and brokers --------------------------------------------------------------

    def channel(self, text: str) -> Channel:
        """``"kafka:orders"`` parsed (once), its broker known."""

    def transport(self, broker: str) -> Transport:
        """The transport of a broker name; UsageError when there is none."""

    def same_broker(self, a: str, b: str) -> bool:
        """Do broker names ``a`` and ``b`` lead to the same broker?"""

    # -- schemas and payloads --------------------------------------------------------------

    def validator(self, spec: Any) -> Any:
        """A schema validator for ``spec`` (subject name, schema dict or validator)."""

    def bound_validator(self, channel: str, event_type: str | None) -> Any:
        """The validator events on ``channel`` must pass, or None."""

    def encode(self, value: Any, schema: Any = None) -> bytes:
        """A payload's bytes (Avro when ``schema`` is an Avro schema, JSON otherwise)."""

    def decode(self, raw: bytes) -> tuple[Any, str | None]:
        """A payload's value, and the reason when it cannot be decoded."""

    # -- the collector ---------------------------------------------------------------------

    def watching(self, channel: str) -> bool:
        """Is ``channel`` observed already?"""

    async def watch(self, channel: Channel, *, consume_queue: bool = False) -> None:
        """Observe ``channel``; returns once the subscription is armed."""

    def subscribed_since(self, channel: str) -> float | None:
        """When the subscription to ``channel`` was armed (monotonic); None if it never was."""

    def register(self, value: str, sink: Sink) -> None:
        """Route events carrying correlation value ``value`` to ``sink``."""

    def unregister(self, value: str) -> None:
        """Stop routing ``value``."""

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when a channel's collection breaks."""

    def remove_listener(self, callback: Callable[[], None]) -> None: ...

    def next_seq(self) -> int:
        """The next number in the harness's arrival order (ties between equal times)."""

    def collect_error(self, channel: str) -> BaseException | None:
        """Why collecting ``channel`` stopped, if it did."""

    def collecting_broken(self) -> bool:
        """Has the collection of any channel stopped? (The cheap test before
        :meth:`collect_error` per channel.)"""

    def incidents_during(self, began: float) -> list[Incident]:
        """The infrastructure incidents that fail a scenario that began at ``began``."""

    def unrelated(self, channel: str) -> list[Event]:
        """Recent events on ``channel`` no scenario claimed (for nearest misses)."""
