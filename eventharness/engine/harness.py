"""The harness: named broker connections, the shared collector, schemas, and scenarios.

    async with Harness({"kafka": "kafka://127.0.0.1:9092", "rabbit": "amqp://..."}) as h:
        async with h.scenario("order ships") as s:
            ...

Broker values may be URLs or ready transport objects (inject, don't patch: a test can hand in
any object that honours :class:`~eventharness.transports.base.Transport`).

The harness is the one place the engine's objects are put together: it owns the transports
and the collector, and builds scenarios and stubs, handing each itself as their
:class:`~eventharness.engine.port.Port` — they know that, never this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Protocol

from eventharness.engine.collector import Collector, Sink
from eventharness.engine.correlation import Correlation
from eventharness.engine.incidents import Incident, Incidents
from eventharness.engine.network import Network
from eventharness.engine.scenario import Scenario
from eventharness.engine.stubs import Stub
from eventharness.model.channels import BrokerURL, Channel, parse_broker_url, parse_channel
from eventharness.model.durations import check_seconds
from eventharness.model.errors import BrokerError, UsageError
from eventharness.model.events import Decoder, Event, decode_value, encode_value
from eventharness.model.result import ScenarioResult
from eventharness.tracing.base import SpanSource, Tracing
from eventharness.transports.base import Transport, make_transport

__all__ = ["CROSS_BROKER_SLACK", "DEFAULT_WITHIN", "Harness", "HarnessProfile"]

DEFAULT_WITHIN = 10.0
CROSS_BROKER_SLACK = 0.25


class HarnessProfile(Protocol):
    """What :meth:`Harness.from_profile` reads. A profile of ``eventharness.toml``
    (:class:`eventharness.env.config.Profile`) is one; so is any object with these fields."""

    @property
    def brokers(self) -> Mapping[str, str]: ...
    @property
    def schemas(self) -> str | None: ...
    @property
    def within(self) -> float: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def payload_field(self) -> str: ...
    @property
    def correlation(self) -> Mapping[str, str]: ...
    @property
    def correlation_headers(self) -> tuple[str, ...]: ...
    @property
    def channel_schemas(self) -> Mapping[str, str | Mapping[str, str]]: ...


class Harness:
    """Named broker connections, the shared collector, schemas; makes scenarios and stubs.
    Implements :class:`~eventharness.engine.port.Port`."""

    next_seq: Callable[[], int]  # the collector's own counter (called on every publish)

    def __init__(
        self,
        brokers: Mapping[str, str | BrokerURL | Transport] | None = None,
        *,
        correlation: Correlation | Mapping[str, str] | None = None,
        schemas: Any = None,
        within: float = DEFAULT_WITHIN,
        connect_timeout: float = 10.0,
        decoder: Decoder | None = None,
        cross_broker_slack: float = CROSS_BROKER_SLACK,
        channel_schemas: Mapping[str, str | Mapping[str, str]] | None = None,
        tracing: Tracing | None = None,
        receiver: SpanSource | None = None,
        keep_results: bool = True,
        aliases: Mapping[str, str] | None = None,
        network: Network | None = None,
    ) -> None:
        check_seconds("connect_timeout", connect_timeout)
        self.brokers: dict[str, Transport] = {}
        for name, spec in (brokers or {"memory": "memory://"}).items():
            if isinstance(spec, str | BrokerURL):
                url = parse_broker_url(spec) if isinstance(spec, str) else spec
                self.brokers[name] = make_transport(url, connect_timeout=connect_timeout)
            else:
                self.brokers[name] = spec
        if isinstance(correlation, Correlation):
            self.correlation = correlation
        else:
            self.correlation = Correlation(rules=dict(correlation or {}))
        self.within = check_seconds("within", within)
        self.cross_broker_slack = check_seconds(
            "cross_broker_slack", cross_broker_slack, allow_zero=True
        )
        self.channel_schemas = dict(channel_schemas or {})
        self.aliases = dict(aliases or {})  # other names of channels (AsyncAPI channel ids)
        self.tracing = tracing  # spans (eventharness.tracing); None: off, and free
        self.receiver = receiver  # spans the services send (a SpanReceiver), joined by trace id
        self.network = network  # where scenarios inject network faults (the env's proxies)
        self.schemas = _schema_store(schemas)
        self.decoder = decoder
        self.results: list[ScenarioResult] = []
        # False for long runs (load mode): each scenario's result goes to whoever ran it only
        self.keep_results = keep_results
        self.collector = Collector(self.brokers, correlation=self.correlation, decoder=self.decode)
        self.next_seq = self.collector.next_seq
        self.incidents = Incidents(self.collector.wake)  # faults reported by the environment
        self._validators: dict[Any, Any] = {}
        self._channels: dict[str, Channel] = {}
        self._schema_ids: dict[str, int | None] = {}
        self._connected = False

    @classmethod
    def from_profile(
        cls,
        profile: HarnessProfile,
        *,
        brokers: Mapping[str, str | BrokerURL | Transport] | None = None,
        correlation: Mapping[str, str] | None = None,
        connect_timeout: float | None = None,
        schemas: Any = None,
        within: float | None = None,
        **options: Any,
    ) -> Harness:
        """The one place a profile becomes a harness: ``eventharness run`` and the pytest
        plugin come here. (``doctor``, ``record`` and ``replay`` need transports, not a
        harness: they resolve the same broker URLs, ``eventharness.env.brokers``, and make
        the transports the same way, ``make_transport(url, connect_timeout=...)``.)

        ``brokers`` are the URLs to use (an ``embedded`` broker already started and replaced
        by its URL); by default the profile's own. ``correlation`` adds per-channel rules (a
        scenario file's) to the profile's; ``connect_timeout`` overrides the profile's;
        ``schemas`` is a ready schema store to share, by default one made from
        ``profile.schemas`` (a folder or a registry URL); ``within`` overrides the profile's
        window, and any other keyword is passed to :class:`Harness` as it is."""
        rules = {**profile.correlation, **(correlation or {})}
        settings: dict[str, Any] = {
            "correlation": Correlation(
                payload_field=profile.payload_field,
                rules=rules,
                headers=profile.correlation_headers,
            ),
            "schemas": schemas if schemas is not None else profile.schemas,
            "within": within if within is not None else profile.within,
            "connect_timeout": (
                connect_timeout if connect_timeout is not None else profile.connect_timeout
            ),
            "channel_schemas": profile.channel_schemas,
            **options,
        }
        return cls(brokers if brokers is not None else dict(profile.brokers), **settings)

    async def __aenter__(self) -> Harness:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def connect(self) -> None:
        """Connect every broker at once; on any failure close the others and raise it."""
        self._resolve_bindings()  # a bad subject is a usage error before anything connects
        self.incidents.bind(asyncio.get_running_loop())
        results = await asyncio.gather(
            *(t.connect() for t in self.brokers.values()), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.aclose()
            raise errors[0]
        self._connected = True

    async def aclose(self) -> None:
        """Close the collector, then every transport at once (each close is bounded)."""
        await self.collector.aclose()
        results = await asyncio.gather(
            *(transport.aclose() for transport in self.brokers.values()), return_exceptions=True
        )
        self._connected = False
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, BrokerError | OSError | RuntimeError
            ):
                raise result

    # -- scenarios -------------------------------------------------------------------------

    def scenario(self, name: str, **options: Any) -> Scenario:
        """A new scenario with a fresh correlation id. Use it with ``async with``; its result
        is added to :attr:`results` when it ends (unless the harness was made with
        ``keep_results=False``: a load of thousands of flows keeps none)."""
        keep = self.results.append if self.keep_results else None
        return Scenario(self, name, on_result=keep, **options)

    def stub(self, consume: str, **options: Any) -> Stub:
        """A virtual service on this harness (see :mod:`eventharness.engine.stubs`); run it with
        ``async with``. ``Scenario.stub`` makes one that lives exactly as long as a scenario."""
        return Stub(self, consume, **options)

    def channel(self, text: str) -> Channel:
        found = self._channels.get(text)  # parsed once: publish calls this for every message
        if found is None:
            real = self.aliases.get(text, text)
            found = self._channels[text] = parse_channel(real, known_brokers=self.brokers)
        return found

    def same_broker(self, a: str, b: str) -> bool:
        """Do broker names ``a`` and ``b`` lead to the same broker (same URL)?"""
        first, second = self.brokers.get(a), self.brokers.get(b)
        if first is None or second is None:
            return a == b
        return first is second or str(first.url) == str(second.url)

    def transport(self, broker: str) -> Transport:
        try:
            return self.brokers[broker]
        except KeyError:
            raise UsageError(f"no broker named {broker!r}") from None

    # -- the collector (for scenarios) ----------------------------------------------------

    def watching(self, channel: str) -> bool:
        return self.collector.watching(channel)

    async def watch(self, channel: Channel, *, consume_queue: bool = False) -> None:
        await self.collector.watch(channel, consume_queue=consume_queue)

    def subscribed_since(self, channel: str) -> float | None:
        return self.collector.since(channel)

    def register(self, value: str, sink: Sink) -> None:
        self.collector.register(value, sink)

    def unregister(self, value: str) -> None:
        self.collector.unregister(value)

    def add_listener(self, callback: Callable[[], None]) -> None:
        self.collector.add_listener(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        self.collector.remove_listener(callback)

    def collect_error(self, channel: str) -> BaseException | None:
        return self.collector.error(channel)

    def collecting_broken(self) -> bool:
        return self.collector.broken()

    def unrelated(self, channel: str) -> list[Event]:
        return self.collector.unrelated(channel)

    def incidents_during(self, began: float) -> list[Incident]:
        return self.incidents.during(began) if self.incidents.any() else []

    # -- payloads and schemas --------------------------------------------------------------

    def validator(self, spec: Any) -> Any:
        """A schema validator for ``spec`` (subject name, schema dict or Validator), cached."""
        cache_key = spec if isinstance(spec, str) else id(spec)
        found = self._validators.get(cache_key)
        if found is None:
            from eventharness.schemas import as_validator  # lazy: jsonschema, fastavro

            found = as_validator(spec, self.schemas)
            self._validators[cache_key] = found
        return found

    def _resolve_bindings(self) -> None:
        for channel, binding in self.channel_schemas.items():
            self.channel(channel)
            subjects = binding.values() if isinstance(binding, Mapping) else [binding]
            for subject in subjects:
                self.validator(subject)

    def bound_validator(self, channel: str, event_type: str | None) -> Any:
        """The validator every event on ``channel`` must pass (by type when bound per type)."""
        binding = self.channel_schemas.get(channel)
        if binding is None:
            return None
        if isinstance(binding, Mapping):
            subject = binding.get(event_type or "") or binding.get("*")
            return self.validator(subject) if subject is not None else None
        return self.validator(binding)

    def encode(self, value: Any, schema: Any = None) -> bytes:
        """JSON, or Avro binary when ``schema`` is an Avro schema (in the Confluent wire
        format when the schema has a registry id)."""
        if schema is None or isinstance(value, bytes | str):
            return encode_value(value)
        from eventharness.schemas import AvroValidator, encode_payload  # lazy: fastavro

        validator = self.validator(schema)
        if not isinstance(validator, AvroValidator):
            return encode_value(value)
        return encode_payload(value, validator.schema, self._schema_id(schema))

    def _schema_id(self, schema: Any) -> int | None:
        """The registry id of a subject (for the Confluent wire format); None when local."""
        if not isinstance(schema, str) or self.schemas is None:
            return None
        if schema not in self._schema_ids:
            stored = self.schemas.get(schema) if hasattr(self.schemas, "get") else None
            self._schema_ids[schema] = getattr(stored, "schema_id", None)
        return self._schema_ids[schema]

    def decode(self, raw: bytes) -> tuple[Any, str | None]:
        """A payload's value: the ``decoder`` given, Avro in the Confluent wire format when a
        schema store knows its id, else JSON or text; and the reason when it is undecodable."""
        if self.decoder is not None:
            return self.decoder(raw)
        if raw[:1] == b"\x00" and self.schemas is not None:
            from eventharness.schemas import decode_payload  # lazy: fastavro

            return decode_payload(raw, getattr(self.schemas, "schema_by_id", None))
        return decode_value(raw)


def _schema_store(spec: Any) -> Any:
    """A schema store from a folder path or a Confluent Schema Registry URL (or a store)."""
    if spec is None or hasattr(spec, "validator"):
        return spec
    if isinstance(spec, str) and spec.startswith(("http://", "https://")):
        from eventharness.schemas import RegistryClient  # lazy: the schemas layer's clients

        return RegistryClient(spec)
    from eventharness.schemas import LocalSchemaStore  # lazy: jsonschema, fastavro

    return LocalSchemaStore(spec)
