"""Record and replay: the file format, redaction, replay as a load and as a virtual service,
a recording of the real example system (examples/shop) replayed into passing scenarios, and
the `record`/`replay` commands against RabbitMQ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.engine.recordfile import recorded_from
from eventharness.engine.recording import (
    REDACTED,
    Recorded,
    Recording,
    record,
    replay,
    replay_as_stub,
)
from eventharness.model.events import Record
from eventharness.transports.memory import MemoryTransport
from tests.conftest import unique

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "eventharness")


def rec(value: object, key: str | None = None, **headers: str) -> Record:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return Record(
        raw,
        key.encode() if key else None,
        {k.replace("_", "-"): v.encode() for k, v in headers.items()},
    )


async def record_while(
    transports: dict[str, eh.Transport], channels: list[str], count: int, publish: object
) -> Recording:
    """Record ``count`` messages; ``publish`` (a coroutine function) runs once armed."""
    armed = asyncio.Event()
    task = asyncio.create_task(
        record(transports, channels, count=count, duration=30, armed=armed.set)
    )
    await asyncio.wait_for(armed.wait(), 10)
    await publish()  # type: ignore[operator]
    return await asyncio.wait_for(task, 30)


async def test_record_redacts_keeps_channels_and_round_trips(
    memory_url: str, tmp_path: Path
) -> None:
    async with MemoryTransport(memory_url) as t:

        async def publish() -> None:
            await t.publish(
                "orders",
                rec(
                    {"type": "OrderPlaced", "order_id": "o-1"},
                    "o-1",
                    correlation_id="c-1",
                    authorization="Bearer s3cret",
                    x_api_key="k",
                    session_token="z",
                ),
            )
            await t.publish("shipping/shipment.scheduled", rec(b"\xff\x00raw"))
            await t.publish("orders", Record(b"plain text"))

        found = await record_while({"k": t}, ["k:orders", "k:shipping/#"], 3, publish)
    first, second, third = found.events
    assert (first.channel, first.key, first.value["order_id"]) == ("k:orders", "o-1", "o-1")
    assert first.headers == {
        "correlation-id": "c-1",
        "authorization": REDACTED,
        "x-api-key": REDACTED,
        "session-token": REDACTED,
    }
    assert (second.channel, second.seen_on) == ("k:shipping/shipment.scheduled", "k:shipping/#")
    assert second.raw == b"\xff\x00raw" and second.value is None
    assert third.value == "plain text"
    assert 0 <= first.t <= second.t <= third.t
    path = tmp_path / "r.jsonl"
    found.save(path)
    text = path.read_text()
    assert "s3cret" not in text and '"value_b64": "/wByYXc="' in text
    assert Recording.load(path).events == found.events
    # what is replayed leaves the redacted headers out
    assert dict(first.to_record().headers) == {"correlation-id": b"c-1"}


async def test_record_redacts_the_password_of_a_url_in_any_header(
    memory_url: str, tmp_path: Path
) -> None:
    """A header whose name looks harmless can still carry a credential in a URL."""
    async with MemoryTransport(memory_url) as t:

        async def publish() -> None:
            await t.publish(
                "orders",
                rec(
                    {"type": "OrderPlaced"},
                    "o-1",
                    x_db_url="postgres://app:PASSWORD-s3cret@db.internal:5432/shop",
                    x_callback="https://example.com/hook?x=1",
                ),
            )

        found = await record_while({"k": t}, ["k:orders"], 1, publish)
    (event,) = found.events
    assert event.headers["x-db-url"] == "postgres://app:***@db.internal:5432/shop"
    assert event.headers["x-callback"] == "https://example.com/hook?x=1"  # no password: kept
    path = tmp_path / "r.jsonl"
    found.save(path)
    assert "s3cret" not in path.read_text()


def test_a_kafka_record_is_placed_when_published_not_when_its_observer_pulled_it() -> None:
    """An observer pulls a topic: it can get a payment after the shipment the payment caused
    came over RabbitMQ. The record's timestamp keeps it first; arrival bounds it."""
    started, wall = 100.0, 1_000.0  # time.monotonic() and time.time() at the start
    payment = Record(
        b"{}", properties={"topic": "payments"}, broker_time=wall + 0.1, received=started + 0.5
    )
    shipment = Record(
        b"{}",
        properties={"exchange": "shipping", "routing_key": "s"},
        broker_time=wall,
        received=started + 0.3,
    )  # AMQP: whole seconds
    assert recorded_from("k:payments", payment, started, wall).t == 0.1
    assert recorded_from("r:shipping/#", shipment, started, wall).t == 0.3
    ahead = payment._replace(broker_time=wall + 5)  # a producer's clock ahead of ours
    assert recorded_from("k:payments", ahead, started, wall).t == 0.5


def test_load_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "channel": "k:a", "value": 1}\n\n{"t": 1, "channel": "nope"}\n')
    with pytest.raises(eh.UsageError, match=r"bad\.jsonl:3: channel 'nope' has no broker"):
        Recording.load(path)
    path.write_text("{not json\n")
    with pytest.raises(eh.UsageError, match=r"bad\.jsonl:1: not JSON"):
        Recording.load(path)
    with pytest.raises(eh.UsageError, match="cannot read recording"):
        Recording.load(tmp_path / "missing.jsonl")


async def test_replay_keeps_the_pace_or_goes_flat_out(memory_url: str) -> None:
    recording = Recording(
        [Recorded(t=i * 0.1, channel="k:orders", value={"i": i}, key="x") for i in range(4)]
    )
    async with MemoryTransport(memory_url) as t:
        sub = await t.subscribe("orders")
        began = time.monotonic()
        assert await replay({"k": t}, recording, speed=2) == 4
        paced = time.monotonic() - began
        began = time.monotonic()
        assert await replay({"k": t}, recording, speed=None) == 4
        flat = time.monotonic() - began
        got = [
            json.loads((await asyncio.wait_for(anext(aiter(sub)), 2)).value)["i"] for _ in range(8)
        ]
        await sub.aclose()
    assert got == [0, 1, 2, 3, 0, 1, 2, 3]
    assert paced >= 0.3 / 2 - 0.005  # the last one is due at 0.3 s / 2
    assert flat < paced
    with pytest.raises(eh.UsageError, match="speed must be a positive factor"):
        await replay({"k": t}, recording, speed=0)


# -- the example system, recorded and replayed -------------------------------------------


@pytest.fixture(scope="module")
def shop(kafka_url: str, amqp_url: str) -> Iterator[object]:
    from tests.e2e.test_example_shop_services import READY_TIMEOUT, Shop

    running = Shop(kafka_url.removeprefix("kafka://"), amqp_url, ("payments", "shipping"))
    try:
        running.start()
        running.wait_ready(time.monotonic() + READY_TIMEOUT)
        yield running
    finally:
        codes = running.stop()
        running.delete_amqp_objects()
    assert codes == {"payments": 0, "shipping": 0}


@pytest.fixture(scope="module")
def shop_recording(
    shop: object, kafka_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """One order through the real payments and shipping services, recorded to a file."""
    orders, payments, exchange = (shop.orders, shop.payments, shop.exchange)  # type: ignore[attr-defined]
    path = tmp_path_factory.mktemp("rec") / "shop.jsonl"

    async def go() -> None:
        async with eh.Harness({"kafka": kafka_url, "rabbit": amqp_url}) as h:
            cid = uuid.uuid4().hex

            async def publish() -> None:
                await h.transport("kafka").publish(
                    orders,
                    rec(
                        {"type": "OrderPlaced", "order_id": "o-rec", "total": 42},
                        "o-rec",
                        correlation_id=cid,
                        traceparent=f"00-{cid}-0123456789abcdef-01",
                        authorization="Bearer do-not-record",
                    ),
                )

            found = await record_while(
                h.brokers,
                [f"kafka:{orders}", f"kafka:{payments}", f"rabbit:{exchange}/#"],
                3,
                publish,
            )
            found.save(path)

    asyncio.run(go())
    return path


@pytest.mark.kafka
@pytest.mark.amqp
def test_the_recording_of_the_example_system(shop_recording: Path, shop: object) -> None:
    found = Recording.load(shop_recording)
    exchange = shop.exchange  # type: ignore[attr-defined]
    assert [(e.channel.partition(":")[0], e.value["type"]) for e in found] == [
        ("kafka", "OrderPlaced"),
        ("kafka", "PaymentAuthorized"),
        ("rabbit", "ShipmentScheduled"),
    ]
    assert found.events[2].channel == f"rabbit:{exchange}/shipment.scheduled"
    assert found.events[0].headers["authorization"] == REDACTED
    assert "do-not-record" not in shop_recording.read_text()
    cids = {e.event().correlation_id for e in found}
    assert len(cids) == 1  # the services carried it; the recording kept it
    assert found.events[2].properties["correlation_id"] == cids.pop()


def on_memory(found: Recording, shop: object) -> Recording:
    s = shop
    return found.renamed(
        {
            f"kafka:{s.orders}": "kafka:orders",  # type: ignore[attr-defined]
            f"kafka:{s.payments}": "kafka:payments",  # type: ignore[attr-defined]
            f"rabbit:{s.exchange}/shipment.scheduled":  # type: ignore[attr-defined]
            "rabbit:shipping/shipment.scheduled",
        }
    )


async def expect_flow(s: eh.Scenario, order_id: str) -> None:
    pay = s.expect(
        "kafka:payments",
        type="PaymentAuthorized",
        match={"order_id": order_id, "amount": 42},
        within=2,
        name="pay",
    )
    s.expect(
        "rabbit:shipping/shipment.*",
        type="ShipmentScheduled",
        match={"order_id": order_id},
        after=pay,
        within=2,
        name="ship",
    )
    s.check_equal("pay.value.amount", "ship.value.amount", name="amounts agree")


@pytest.mark.kafka
@pytest.mark.amqp
async def test_the_recording_replays_as_a_virtual_system(
    shop_recording: Path, shop: object, memory_url: str
) -> None:
    """Learnt from the real system: answer a new order as the system answered the recorded one,
    on the memory broker, with no service running."""
    found = on_memory(Recording.load(shop_recording), shop)
    async with eh.Harness({"kafka": memory_url, "rabbit": memory_url}) as h:
        async with h.scenario("recorded shop answers a new order") as s:
            virtual = replay_as_stub(s, found, "kafka:orders", name="recorded shop")
            await expect_flow(s, "o-new")
            await s.publish(
                "kafka:orders",
                {"type": "OrderPlaced", "order_id": "o-new", "total": 42},
                key="o-new",
            )
        assert s.result is not None and s.result.passed
        got = [e for e in s.result.events if e.direction == "in"]
        assert {e.correlation_id for e in got} == {s.correlation_id}
        # the payment's key was the order's key: it is the new order's now; the shipment
        # (plain AMQP) had none, and has none
        assert [(e.type, e.key) for e in got] == [
            ("PaymentAuthorized", "o-new"),
            ("ShipmentScheduled", None),
        ]
        assert virtual.assert_called(1, match={"order_id": "o-new"})


@pytest.mark.kafka
@pytest.mark.amqp
async def test_the_recording_replays_as_a_load(
    shop_recording: Path, shop: object, memory_url: str
) -> None:
    found = on_memory(Recording.load(shop_recording), shop)
    recorded_cid = found.events[0].event().correlation_id
    async with eh.Harness({"kafka": memory_url, "rabbit": memory_url}) as h:
        async with h.scenario("the recorded flow again", correlation_id=recorded_cid) as s:
            await expect_flow(s, "o-rec")
            await s.wait(0)  # arms the collector: the replay publishes behind the scenario
            assert await replay(h.brokers, found, speed=None) == 3
        assert s.result is not None and s.result.passed


# -- the commands ------------------------------------------------------------------------


@pytest.mark.amqp
async def test_record_and_replay_commands(amqp_url: str, tmp_path: Path) -> None:
    exchange = unique("eh-rec")
    out = tmp_path / "cli.jsonl"
    async with eh.Harness({"r": amqp_url}) as h:
        t = h.transport("r")
        await t.create_channel(f"{exchange}/")
        try:
            proc = await asyncio.create_subprocess_exec(
                CLI,
                "record",
                "-b",
                f"r={amqp_url}",
                "-c",
                f"r:{exchange}/#",
                "-n",
                "2",
                "-o",
                str(out),
                cwd=tmp_path,
                stderr=asyncio.subprocess.PIPE,
            )
            assert proc.stderr is not None
            first = await asyncio.wait_for(proc.stderr.readline(), 30)
            assert first.decode().startswith(f"recording r:{exchange}/# → "), first
            for i in range(2):
                await t.publish(
                    f"{exchange}/orders.placed",
                    rec({"type": "OrderPlaced", "i": i}, f"o-{i}", password="hunter2"),
                )
            rest = (await asyncio.wait_for(proc.stderr.read(), 30)).decode()
            assert await asyncio.wait_for(proc.wait(), 30) == 0, rest
            assert rest.strip().splitlines()[-1].startswith("recorded 2 message(s) in "), rest
            found = Recording.load(out)
            assert [(e.channel, e.key, e.headers["password"]) for e in found] == [
                (f"r:{exchange}/orders.placed", "o-0", REDACTED),
                (f"r:{exchange}/orders.placed", "o-1", REDACTED),
            ]
            sub = await t.subscribe(f"{exchange}/#")
            done = await asyncio.to_thread(
                subprocess.run,
                [CLI, "replay", str(out), "-b", f"r={amqp_url}", "--speed", "max"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            assert done.stderr.strip().splitlines()[-1].startswith("replayed 2 message(s)")
            again = [await asyncio.wait_for(anext(aiter(sub)), 10) for _ in range(2)]
            await sub.aclose()
            assert [json.loads(r.value)["i"] for r in again] == [0, 1]
            assert all("password" not in r.headers for r in again)
            bad = await asyncio.to_thread(
                subprocess.run,
                [CLI, "replay", str(out), "-b", f"r={amqp_url}", "--speed", "fast"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert bad.returncode == 2
            assert "--speed 'fast': write 1, a factor like 10, or max" in bad.stderr
            missing = await asyncio.to_thread(
                subprocess.run,
                [CLI, "replay", str(out)],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert missing.returncode == 2
            assert (
                "broker 'r' is not configured; give its URL with --broker r=URL" in missing.stderr
            )
        finally:
            await t.delete_channel(f"{exchange}/")
