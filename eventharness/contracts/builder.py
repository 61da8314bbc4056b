"""The consumer side: declare the messages a consumer relies on, run its handler on them, write
the pact.

    import eventharness as eh

    c = eh.contract("orders-view", "shipping")
    c.message(
        "a shipment is scheduled",
        given="a payment was authorized", params={"order_id": "o-1"},
        channel="rabbit:shipping/shipment.scheduled",
        body={"type": "ShipmentScheduled", "order_id": eh.like("o-1"), "amount": eh.number(42)},
    ).verify_with(read_model.apply)          # the consumer's own code, on the example message
    c.write("contracts/pacts")               # contracts/pacts/orders-view-shipping.json (V4)

A message's example is the body with every matcher replaced by its example; its rules are
written where Pact writes them (``matchingRules.body`` by JSON path), the channel goes into the
message ``metadata`` (Pact allows extra keys there). Writing is deterministic (see
:mod:`~eventharness.contracts.pactfile`): the same declarations give byte-identical files, in V4
(default) or V3 (``spec="3"``). A handler that raised keeps the pact from being written, as Pact
does: a contract the consumer itself cannot handle must not reach the provider.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from eventharness.contracts.generators import parse_generators
from eventharness.contracts.model import Contents, Interaction, Message, Pact, ProviderState
from eventharness.contracts.pactfile import dump_pact, parse_contents, write_pact
from eventharness.contracts.rules import parse_matching_rules
from eventharness.contracts.terms import reify
from eventharness.model.errors import ContractError, UsageError
from eventharness.model.events import MISSING, is_missing

__all__ = ["Contract", "ContractMessage", "Given", "contract"]

# ``given``: a state name, a ProviderState, or a list of those / (name, params) pairs.
Given = str | ProviderState | Sequence[str | ProviderState | tuple[str, Mapping[str, Any]]] | None
Handler = Callable[..., Any]


def contract(consumer: str, provider: str, *, spec: str = "4") -> Contract:
    """A new contract of ``consumer`` with ``provider`` (pact specification 4, or 3)."""
    return Contract(consumer, provider, spec=spec)


class ContractMessage:
    """One declared message: its interaction (example and rules) and whether the consumer's
    handler ran on it. Also a context manager giving the example body::

        with c.message("a shipment is scheduled", body=...) as body:
            read_model.apply(body)      # an exception here keeps the pact from being written
    """

    def __init__(self, interaction: Interaction) -> None:
        self.interaction = interaction
        self.handled = False
        self.failed: BaseException | None = None

    @property
    def description(self) -> str:
        return self.interaction.description

    @property
    def body(self) -> Any:
        """The example body (every matcher replaced by its example)."""
        return self.interaction.message.contents.value

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.interaction.message.metadata)

    def verify_with(self, handler: Handler) -> ContractMessage:
        """Run the consumer's ``handler`` on the example: ``handler(body)`` or
        ``handler(body, metadata)``. An exception propagates (with a note naming the message)
        and the pact is not written. An ``async def`` handler is run to completion; inside a
        running event loop use :meth:`averify_with`."""
        try:
            result = _call(handler, self.body, self.metadata)
            if inspect.isawaitable(result):
                try:
                    asyncio.get_running_loop()
                except RuntimeError:
                    asyncio.run(_awaited(result))
                else:
                    raise UsageError(
                        f"the handler of {self.description!r} is async and an event loop is "
                        "running: use `await message.averify_with(handler)`"
                    )
        except BaseException as exc:
            self._fail(exc)
            raise
        self.handled = True
        return self

    async def averify_with(self, handler: Handler) -> ContractMessage:
        """:meth:`verify_with` for async handlers, inside a running event loop."""
        try:
            result = _call(handler, self.body, self.metadata)
            if inspect.isawaitable(result):
                await result
        except BaseException as exc:
            self._fail(exc)
            raise
        self.handled = True
        return self

    def _fail(self, exc: BaseException) -> None:
        self.failed = exc
        exc.add_note(f"(the consumer's handler failed on the example of {self.description!r})")

    def __enter__(self) -> Any:
        return self.body

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.handled = True
        else:
            self._fail(exc)


def _call(handler: Handler, body: Any, metadata: dict[str, Any]) -> Any:
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return handler(body)
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in positional):
        return handler(body, metadata)
    return handler(body)


async def _awaited(result: Any) -> None:
    await result


class Contract:
    """The messages ``consumer`` expects from ``provider``; becomes a :class:`Pact`."""

    def __init__(self, consumer: str, provider: str, *, spec: str = "4") -> None:
        for role, name in (("consumer", consumer), ("provider", provider)):
            if not isinstance(name, str) or not name.strip():
                raise ContractError(f"contract(...): the {role} needs a name, got {name!r}")
        if str(spec).split(".")[0] not in ("3", "4"):
            raise ContractError(f"contract(...): spec must be 3 or 4, got {spec!r}")
        self.consumer = consumer
        self.provider = provider
        self.spec = "4.0" if str(spec).startswith("4") else "3.0.0"
        self.messages: list[ContractMessage] = []

    def message(
        self,
        description: str,
        *,
        given: Given = None,
        params: Mapping[str, Any] | None = None,
        channel: str | None = None,
        body: Any = MISSING,
        metadata: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> ContractMessage:
        """Declare one message. ``given`` names the provider state(s) (``params`` are those of a
        single state); ``channel`` (``kafka:payments``, ``rabbit:shipping/shipment.*``) is where
        the provider sends it; ``body`` may hold matchers (``eh.like(...)`` ...)."""
        where = f"contract {self.consumer} -> {self.provider}: message {description!r}"
        if not isinstance(description, str) or not description:
            raise ContractError(f"{where}: a message needs a description")
        if any(m.description == description for m in self.messages):
            raise ContractError(f"{where}: declared twice; descriptions must be unique")
        states = _states(given, params, where)
        example, rules, generators = reify(body) if not is_missing(body) else (MISSING, {}, {})
        meta = {str(k): v for k, v in (metadata or {}).items()}
        if channel is not None:
            meta["channel"] = channel
        if content_type and not is_missing(example):
            meta.setdefault("contentType", content_type)
        contents = (
            Contents()
            if is_missing(example)
            else parse_contents({"content": example, "contentType": content_type}, where)
        )
        message = Message(
            contents,
            meta,
            parse_matching_rules({"body": rules} if rules else None, f"{where}: matchingRules"),
            parse_generators({"body": generators} if generators else None, f"{where}: generators"),
        )
        declared = ContractMessage(Interaction(description, message, states))
        self.messages.append(declared)
        return declared

    def verify_with(self, handler: Handler) -> Contract:
        """Run ``handler`` on the example of every message declared (see
        :meth:`ContractMessage.verify_with`)."""
        for message in self.messages:
            message.verify_with(handler)
        return self

    def pact(self) -> Pact:
        return Pact(
            self.consumer,
            self.provider,
            tuple(m.interaction for m in self.messages),
            self.spec,
            {"eventharness": {"contracts": "1"}},
        )

    def dumps(self, spec: str | None = None) -> str:
        """The pact's canonical text (see :func:`~eventharness.contracts.pactfile.dump_pact`)."""
        return dump_pact(self.pact(), _spec(spec) if spec else None)

    def write(self, target: str | Path = ".", *, spec: str | None = None) -> Path:
        """Write the pact: into the folder ``target`` as ``CONSUMER-PROVIDER.json``, or to
        ``target`` itself when it ends in ``.json``. Refused when a handler failed."""
        failed = [m.description for m in self.messages if m.failed is not None]
        if failed:
            raise ContractError(
                f"contract {self.consumer} -> {self.provider}: the consumer's handler failed on "
                f"{', '.join(map(repr, failed))}; no pact written (fix the handler or the "
                "declaration)"
            )
        path = Path(target)
        if path.suffix != ".json":
            path = path / f"{self.consumer}-{self.provider}.json"
        return write_pact(self.pact(), path, _spec(spec) if spec else None)


def _spec(spec: str) -> str:
    return "4.0" if str(spec).startswith("4") else "3.0.0"


def _states(
    given: Given, params: Mapping[str, Any] | None, where: str
) -> tuple[ProviderState, ...]:
    if given is None:
        if params:
            raise ContractError(f"{where}: params need a provider state (given=...)")
        return ()
    items: Sequence[Any] = [given] if isinstance(given, str | ProviderState) else given
    states: list[ProviderState] = []
    for item in items:
        if isinstance(item, ProviderState):
            states.append(item)
        elif isinstance(item, str):
            states.append(ProviderState(item, dict(params or {}) if len(items) == 1 else {}))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            states.append(ProviderState(item[0], dict(item[1])))
        else:
            raise ContractError(
                f"{where}: given must be a state name or (name, params), got {item!r}"
            )
    if params and len(items) != 1:
        raise ContractError(f"{where}: params apply to one state; give (name, params) pairs")
    return tuple(states)
