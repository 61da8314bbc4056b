"""RabbitMQ: N events published and collected through a scenario vs raw aio-pika.

Harness side: a scenario on ``rabbit:EX/bench.#`` expecting ``at_least=N`` events of type
``OrderPlaced`` while publishing N events to ``rabbit:EX/bench.created`` with bounded concurrency
(the transport publishes with publisher confirms; the collector's observer is an exclusive,
auto-delete queue bound with ``bench.#``, consumed without acks).

Baseline: aio-pika on one connection, a ``publisher_confirms=True`` channel publishing the same
JSON bytes with the same headers, ``correlation_id``/``message_id`` properties and persistent
delivery through ``Exchange.publish`` with the same bounded driver, and an exclusive auto-delete
queue bound to the same topic exchange with ``bench.#``, consumed ``no_ack`` by a callback that
``json.loads`` each body and counts those with its correlation id.

Both timings run from before the collecting queue is declared to the N-th event collected.
Each trial uses a fresh topic exchange, declared untimed and deleted afterwards.

Second row, without publisher confirms on both sides: the harness on a URL with
``?publisher_confirms=false``, aio-pika on a channel opened with ``publisher_confirms=False``;
everything else as above.
"""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import uuid
from typing import Any

from bench.common import (
    Context,
    Row,
    bounded,
    encoded,
    event_value,
    harness_throughput,
    now,
    throughput_row,
    unique,
    within,
)

CONCURRENCY = 512
TIMEOUT_S = 180.0


async def run(ctx: Context) -> list[Row]:
    n = ctx.size(50_000, 2_000)
    trials = 1 if ctx.quick else 3
    rows = []
    for confirms, name in (
        (True, "rabbitmq publish+collect"),
        (False, "rabbitmq publish+collect, no confirms"),
    ):
        harness_rates, raw_rates = await _trials(ctx, n, trials, confirms)
        rows.append(
            throughput_row(
                name,
                harness_rates,
                raw_rates,
                events=n,
                trials=trials,
                concurrency=CONCURRENCY,
                publisher_confirms=confirms,
                target=1.0,  # RabbitMQ stays at raw aio-pika's speed, with and without confirms
            )
        )
    return rows


async def _trials(
    ctx: Context, n: int, trials: int, confirms: bool
) -> tuple[list[float], list[float]]:
    import aio_pika

    import eventharness as eh

    url = ctx.amqp_url
    if not confirms:
        url += ("&" if "?" in url else "?") + "publisher_confirms=false"
    harness_rates: list[float] = []
    raw_rates: list[float] = []
    connection = await aio_pika.connect(ctx.amqp_url)
    try:
        for trial in range(trials):
            async with eh.Harness({"rabbit": url}, within=TIMEOUT_S) as h:
                admin = h.transport("rabbit")
                for side in ("raw", "harness") if trial % 2 == 0 else ("harness", "raw"):
                    exchange = unique("ex" + side)
                    await admin.create_channel(f"{exchange}/", exchange_type="topic")  # type: ignore[call-arg]
                    gc.collect()
                    try:
                        if side == "raw":
                            raw_rates.append(
                                await within(
                                    TIMEOUT_S,
                                    "raw aio-pika run",
                                    _raw(connection, exchange, n, confirms),
                                )
                            )
                        else:
                            harness_rates.append(
                                await within(
                                    TIMEOUT_S, "harness RabbitMQ run", _harness(h, exchange, n)
                                )
                            )
                            h.results.clear()
                    finally:
                        await admin.delete_channel(f"{exchange}/")
    finally:
        await connection.close()
    return harness_rates, raw_rates


async def _harness(h: Any, exchange: str, n: int) -> float:
    return await harness_throughput(
        h, f"rabbit:{exchange}/bench.created", f"rabbit:{exchange}/bench.#", n, CONCURRENCY
    )


async def _raw(connection: Any, exchange_name: str, n: int, confirms: bool = True) -> float:
    import aio_pika

    values = [event_value(i) for i in range(n)]
    correlation_id = uuid.uuid4().hex
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen = 0

    async def on_message(message: Any) -> None:
        nonlocal seen
        json.loads(message.body)
        if message.correlation_id == correlation_id:
            seen += 1
            if seen == n and not done.done():
                done.set_result(None)

    start = now()
    reading = await connection.channel()
    publishing = await connection.channel(publisher_confirms=confirms)
    try:
        queue = await reading.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange_name, routing_key="bench.#")
        await queue.consume(on_message, no_ack=True)
        exchange = await publishing.get_exchange(exchange_name, ensure=False)

        async def one(i: int) -> None:
            value = values[i]
            message_id = uuid.uuid4().hex
            await exchange.publish(
                aio_pika.Message(
                    encoded(value),
                    headers={
                        "correlation-id": correlation_id,
                        "traceparent": f"00-{correlation_id}-{secrets.token_hex(8)}-01",
                        "message-id": message_id,
                        "message-key": value["order_id"],
                    },
                    correlation_id=correlation_id,
                    message_id=message_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="bench.created",
            )

        await bounded(n, CONCURRENCY, one)
        await done
        return n / (now() - start)
    finally:
        await publishing.close()
        await reading.close()
