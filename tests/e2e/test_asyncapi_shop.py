"""The example shop held to its AsyncAPI document (examples/shop/asyncapi.yaml), on the real
brokers: the services run as their own processes (embedded Kafka, the local RabbitMQ), their
traffic is recorded while orders go in, and ``eventharness asyncapi check --against`` judges
the recording — it passes for the correct shop and, with payments started with
``FAULT=bad-schema``, fails naming the message and the field. The round trip holds too: the
recording exported as AsyncAPI, imported again, passes ``check --against`` itself."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventharness.engine.recordfile import Recording
from eventharness.engine.recording import record
from eventharness.model.events import Record
from eventharness.transports.base import open_transport
from tests.asyncapi.parser import parse_with_official
from tests.e2e.test_example_shop_services import READY_TIMEOUT, Shop

pytestmark = [pytest.mark.kafka, pytest.mark.amqp]

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "examples" / "shop" / "asyncapi.yaml"
EXE = str(Path(sys.executable).parent / "eventharness")
ORDERS = [("o-1", 42), ("o-2", 5000), ("o-3", 7)]  # 5000 is over payments' limit: declined
EVENTS = 3 + 3 + 2  # the orders, their payments, the shipments of the two authorized


@pytest.fixture(scope="module")
def shops(kafka_url: str, amqp_url: str) -> Iterator[dict[str, Shop]]:
    bootstrap = kafka_url.removeprefix("kafka://")
    made = {
        "": Shop(bootstrap, amqp_url, ("payments", "shipping")),
        "bad-schema": Shop(bootstrap, amqp_url, ("payments", "shipping"), fault="bad-schema"),
    }
    try:
        for shop in made.values():
            shop.start()
        deadline = time.monotonic() + READY_TIMEOUT
        for shop in made.values():
            shop.wait_ready(deadline)
        yield made
    finally:
        for shop in made.values():
            shop.stop()
            shop.delete_amqp_objects()


async def _record(shop: Shop, kafka_url: str, amqp_url: str) -> Recording:
    kafka = await open_transport(kafka_url)
    rabbit = await open_transport(amqp_url)
    armed = asyncio.Event()
    try:
        task = asyncio.create_task(
            record(
                {"kafka": kafka, "rabbit": rabbit},
                [f"kafka:{shop.orders}", f"kafka:{shop.payments}", f"rabbit:{shop.exchange}/#"],
                count=EVENTS,
                duration=60,
                armed=armed.set,
            )
        )
        await asyncio.wait_for(armed.wait(), 30)
        for order_id, total in ORDERS:
            value = {"type": "OrderPlaced", "order_id": order_id, "total": total}
            headers = {"correlation-id": f"c-{order_id}-{shop.prefix}".encode()}
            await kafka.publish(
                shop.orders, Record(json.dumps(value).encode(), order_id.encode(), headers)
            )
        found = await task
    finally:
        await kafka.aclose()
        await rabbit.aclose()
    return found.renamed(
        {
            f"kafka:{shop.orders}": "kafka:orders",
            f"kafka:{shop.payments}": "kafka:payments",
            f"rabbit:{shop.exchange}/shipment.scheduled": "rabbit:shipping/shipment.scheduled",
        }
    )


def _check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "asyncapi", "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_recording_of_the_shop_keeps_to_its_document(
    shops: dict[str, Shop], kafka_url: str, amqp_url: str, tmp_path: Path
) -> None:
    recording = asyncio.run(_record(shops[""], kafka_url, amqp_url))
    assert len(recording) == EVENTS, [e.channel for e in recording]
    path = tmp_path / "shop.jsonl"
    recording.save(path)
    done = _check(DOC, "--against", path, "--strict")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{EVENTS} events, 0 problems, 0 unknown channels, 0 messages never seen" in done.stdout

    exported = tmp_path / "exported.yaml"
    export = subprocess.run(
        [EXE, "asyncapi", "export", str(path), "-o", str(exported)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert export.returncode == 0, export.stdout + export.stderr
    again = _check(exported, "--against", path, "--strict")
    assert again.returncode == 0, again.stdout + again.stderr
    parsed = parse_with_official(exported)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr


def test_bad_schema_fault_is_named_with_message_and_field(
    shops: dict[str, Shop], kafka_url: str, amqp_url: str, tmp_path: Path
) -> None:
    recording = asyncio.run(_record(shops["bad-schema"], kafka_url, amqp_url))
    path = tmp_path / "bad.jsonl"
    recording.save(path)
    done = _check(DOC, "--against", path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "kafka:payments key=o-1): message 'PaymentAuthorized': payload: "
        "$.amount: '42' is not of type 'number'"
    ) in done.stdout
