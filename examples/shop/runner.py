"""Process life cycle of a service: settings, logging, signals, exit codes.

Exit codes: 0 after SIGTERM/SIGINT (consumers and producers closed), 1 when the service failed
(e.g. a broker is unreachable), 2 when its configuration is invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from examples.shop.settings import Settings, SettingsError

Serve = Callable[[Settings, asyncio.Event], Awaitable[None]]


def main(name: str, serve: Serve) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s {name} %(levelname)s %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"{name}: invalid configuration: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    try:
        from examples.shop import telemetry

        telemetry.start(name)
    except ImportError as exc:
        print(
            f"{name}: the shop's services are traced with OpenTelemetry ({exc.name} is missing): "
            "pip install -e '.[shop]'",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(2)
    try:
        code = asyncio.run(_run(name, serve, settings))
    finally:
        telemetry.stop()
    sys.exit(code)


async def _run(name: str, serve: Serve, settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.faults:
        logging.getLogger(name).warning("running with FAULT=%s", ",".join(sorted(settings.faults)))
    try:
        await serve(settings, stop)
    except Exception as exc:
        log = logging.getLogger(name)
        cause = (
            str(exc) if str(exc).startswith(type(exc).__name__) else f"{type(exc).__name__}: {exc}"
        )
        log.error(
            "%s failed: %s (check KAFKA_BOOTSTRAP=%s and AMQP_URL; LOG_LEVEL=DEBUG shows the "
            "traceback)",
            name,
            cause,
            settings.kafka_bootstrap,
        )
        log.debug("traceback", exc_info=exc)
        return 1
    logging.getLogger(name).info("stopped")
    return 0


def announce_ready(line: str) -> None:
    """The line a supervisor waits for (``<service> ready ...``), on stdout, flushed."""
    print(line, flush=True)
    logging.getLogger("ready").info(line)


async def until_stopped(stop: asyncio.Event, *workers: Coroutine[Any, Any, None]) -> None:
    """Run ``workers`` until ``stop`` is set; a worker that fails brings the service down."""
    stopper = asyncio.create_task(stop.wait())
    tasks = [asyncio.create_task(worker) for worker in workers]
    pending: set[asyncio.Task[Any]] = {stopper, *tasks}
    try:
        while stopper in pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stopper}:
                error = task.exception()
                if error is not None:
                    raise error
    finally:
        for task in [stopper, *tasks]:
            task.cancel()
        for task in [stopper, *tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
