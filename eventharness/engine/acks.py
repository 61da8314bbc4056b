"""Publishes that did not wait for the broker (``s.publish(..., wait=False)``).

A scenario hands such a message to the client's batch and goes on; :class:`Acks` keeps the
future of each acknowledgement. Before the scenario is judged they are all awaited
(:meth:`Acks.gather`): the events get their broker positions, and the publishes that failed
become one ``error`` failure naming the first cause and how many. A scenario that ends by an
exception does not wait for them (:meth:`Acks.abandon`); their errors are not logged as
never retrieved.
"""

from __future__ import annotations

import asyncio
from typing import Any

from eventharness.model.errors import EventHarnessError
from eventharness.model.events import Event, Position
from eventharness.model.result import Failure

__all__ = ["Acks"]


class Acks:
    """The acknowledgements a scenario still waits for."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[tuple[Event, asyncio.Future[Position]]] = []

    def __bool__(self) -> bool:
        """Are acknowledgements still awaited?"""
        return bool(self._pending)

    def add(self, event: Event, ack: asyncio.Future[Position]) -> None:
        self._pending.append((event, ack))

    async def gather(self, failures: list[Failure]) -> None:
        """Await every acknowledgement; add the failure of those that failed, if any did."""
        pending, self._pending = self._pending, []
        failed: list[tuple[Event, EventHarnessError]] = []
        for event, ack in pending:
            try:
                event.position = await ack
            except EventHarnessError as error:
                failed.append((event, error))
        if not failed:
            return
        first, cause = failed[0]
        failure = Failure(
            "error",
            f"publish {first.channel}",
            f"{len(failed)} of {len(pending)} publishes were not acknowledged; first: "
            f"{type(cause).__name__}: {cause}",
        )
        failures.append(failure)

    def abandon(self) -> None:
        """Stop waiting: whatever the futures end with is dropped quietly."""
        pending, self._pending = self._pending, []
        for _, ack in pending:
            ack.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
