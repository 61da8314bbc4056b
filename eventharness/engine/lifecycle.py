"""A scenario's setup and teardown: actions run before it starts and after it ends.

    async with harness.scenario(
        "order ships",
        setup=[eh.data.sql(DB, "INSERT INTO customers VALUES ('c-1')")],
        teardown=[eh.data.sql(DB, "DELETE FROM customers WHERE id = 'c-1'")],
    ) as s:
        ...

An action is an async callable given the harness (a :class:`~eventharness.engine.port.Port`),
with a ``description`` that names it in failures (``sql 'INSERT ...' on db.sqlite``,
``scenarios/x.yaml:7``). Setup runs, in order, when the scenario is entered, before anything is
armed: its publishes (:func:`publish`) are not on the scenario's timeline, carry no correlation
id, and open no window. The first setup action that fails stops the scenario: its result is an
``error`` naming that action, and the body does not run.

Teardown always runs: after a pass, a failure, an exception, a cancellation (Ctrl-C), and after a
failed setup. Every action is tried, each within :data:`TEARDOWN_TIMEOUT` seconds; the ones that
fail are kept apart from the scenario's verdict (:attr:`ScenarioResult.teardown
<eventharness.model.result.ScenarioResult.teardown>`), so a failed cleanup never hides how the
scenario itself went.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from eventharness.engine.outgoing import Rejected, compose, unpack
from eventharness.engine.port import Port
from eventharness.model.errors import EventHarnessError, UsageError
from eventharness.model.result import Failure

__all__ = ["TEARDOWN_TIMEOUT", "Action", "Lifecycle", "describe", "publish"]

#: An action: given the harness, does one thing (an SQL statement, an HTTP call, a publish).
Action = Callable[[Port], Awaitable[Any]]

#: Seconds one teardown action may take before it counts as failed (a hung cleanup must not
#: keep a Ctrl-C'd run from ending).
TEARDOWN_TIMEOUT = 30.0


def describe(action: Action) -> str:
    """How failures name ``action``: its ``description``, else its function's name."""
    text = getattr(action, "description", None)
    return str(text) if text else getattr(action, "__name__", "action")


def publish(
    channel: str,
    value: Any,
    *,
    key: str | bytes | None = None,
    headers: Mapping[str, str | bytes] | None = None,
    schema: Any = None,
) -> Action:
    """An action that publishes one message outside any scenario's clock: validated against
    its schema like a scenario's publish, but with no correlation id and not on a timeline."""

    async def send(port: Port) -> None:
        parsed = port.channel(channel)
        message, k, given, partition = unpack(value, key, headers, None)
        text = {
            n: v.decode(errors="replace") if isinstance(v, bytes) else v
            for n, v in (given or {}).items()
        }
        wire = {n: v if isinstance(v, bytes) else v.encode() for n, v in (given or {}).items()}
        try:
            _, record = compose(
                port,
                parsed,
                message,
                key=k,
                headers=(text, wire),
                correlation_id=None,
                schema=schema,
                validate=True,
                partition=partition,
            )
        except Rejected as exc:
            raise UsageError(exc.failure().message) from None
        await port.transport(parsed.broker).publish(parsed.address, record)

    send.description = f"publish to {channel}"  # type: ignore[attr-defined]
    return send


class Lifecycle:
    """The setup and teardown actions of one scenario, and what went wrong with them."""

    def __init__(self, setup: Iterable[Action] = (), teardown: Iterable[Action] = ()) -> None:
        self.setup: list[Action] = list(setup)
        self.teardown: list[Action] = list(teardown)
        self.failures: list[Failure] = []  # of teardown
        self._torn_down = False

    def add(self, setup: Iterable[Action] = (), teardown: Iterable[Action] = ()) -> None:
        self.setup.extend(setup)
        self.teardown.extend(teardown)

    async def set_up(self, port: Port, opened: contextlib.AsyncExitStack) -> Failure | None:
        """Run the setup actions in order; None when all succeeded. When one fails (its
        failure is returned) or the setup is interrupted (re-raised), the scenario will not
        run: teardown runs at once, and ``opened`` (what the scenario opened) is closed."""
        for action in self.setup:
            try:
                await action(port)
            except BaseException as exc:
                try:
                    await self.tear_down(port)
                finally:
                    await opened.aclose()
                if not isinstance(exc, Exception):
                    raise  # a cancellation, Ctrl-C
                return Failure("error", f"setup {describe(action)}", _why(exc))
        return None

    async def tear_down(self, port: Port) -> list[Failure]:
        """Run every teardown action (once per scenario, even when called again); the failures.
        A cancellation (Ctrl-C) arriving meanwhile does not stop the others."""
        if self._torn_down:
            return self.failures
        self._torn_down = True
        cancelled: asyncio.CancelledError | None = None
        for action in self.teardown:
            try:
                await asyncio.wait_for(_call(action, port), TEARDOWN_TIMEOUT)
            except TimeoutError:
                message = f"did not finish within {TEARDOWN_TIMEOUT:g} s"
                self.failures.append(Failure("error", f"teardown {describe(action)}", message))
            except asyncio.CancelledError as exc:  # the rest still runs; then it goes on
                cancelled = exc
                self.failures.append(Failure("error", f"teardown {describe(action)}", "cancelled"))
            except Exception as exc:
                failure = Failure("error", f"teardown {describe(action)}", _why(exc))
                self.failures.append(failure)
        if cancelled is not None:
            raise cancelled
        return self.failures


async def _call(action: Action, port: Port) -> None:
    await action(port)


def _why(exc: BaseException) -> str:
    if isinstance(exc, EventHarnessError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
