"""Test data: generated events per second per schema kind, and the shrink time of the
property-based example on the memory broker.

Generation. The event is the 10-field ``OrderPlaced`` of :mod:`bench.conformance`, in both
schema languages. Harness: ``eh.data.from_schema(schema).sample(n, seed=S)`` (the seeded draw
loop of :mod:`eventharness.data.draw`). Baseline: hypothesis-jsonschema's ``from_schema`` on the
JSON Schema **as the harness hands it over** (its open objects closed with
``additionalProperties: false``, :mod:`eventharness.data.jsonschema`), drawn by the same loop
with the same seeds — so both sides make the same values the same way, and the ratio is what
the harness adds (overrides, closing, the validator lookup). The same baseline serves the Avro
row: the library of the field generating the same event shape, which our strategies derived
from Avro types must not be slower than. Not chosen as baselines: ``strategy.example()`` (a
REPL helper that warns outside one, runs a small search per call and is not seeded: a slower
driver, which would flatter the harness) and fastavro's validation of fixed values (another
operation; its rate on the generated values is in the notes, to say what one generated event
costs in validations). Notes also carry hypothesis-jsonschema on the schema as written (open
objects get arbitrary extra keys: several times slower, why the harness closes them).

Shrinking. ``scenarios/shop-data/payment_amounts.yaml`` (50 generated orders; a payment must
carry the order's total) against a payments service on the memory broker that, like the
shop's ``FAULT=big-total``, pays orders of 1000 or more 99%. The shrink time is the one the
failure reports (``shrinking took 0.41s``: from the first failing example to the minimal one).
Reported with it: the shrink runs, the minimal total (1000 expected) and, as the baseline, the
mean time of one example's flow before the first failure in the same run (so the shrink time
also reads as a number of flows). Target: within the file's own ``shrink_time`` budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Context, Row
from bench.conformance import AVRO_SCHEMA, JSON_SCHEMA

ROOT = Path(__file__).resolve().parents[1]
PROPERTY_FILE = ROOT / "scenarios" / "shop-data" / "payment_amounts.yaml"
LIMIT = 1000.0
CHUNK = 10  # events per turn of a side


async def run(ctx: Context) -> list[Row]:
    rows = generation_rows(ctx)
    rows.append(await shrink_row(ctx))
    return rows


def _alternating(
    sides: dict[str, Callable[[int, int], Any]], sizes: dict[str, int], passes: int
) -> dict[str, float]:
    """Events per second of each side. Each side draws its events in chunks of ``CHUNK`` (chunk
    ``j`` from seed ``j``), the sides taking turns chunk by chunk, so a neighbour's load on the
    shared machine falls on all of them alike; per chunk the best of ``passes``."""
    best = {name: [float("inf")] * (sizes[name] // CHUNK) for name in sides}
    for _ in range(passes):
        for j in range(max(len(chunks) for chunks in best.values())):
            for name, side in sides.items():
                if j >= len(best[name]):
                    continue
                gc.collect()
                start = time.perf_counter()
                side(CHUNK, j)
                best[name][j] = min(best[name][j], time.perf_counter() - start)
    return {name: len(chunks) * CHUNK / sum(chunks) for name, chunks in best.items()}


def generation_rows(ctx: Context) -> list[Row]:
    from fastavro import parse_schema
    from fastavro.validation import validate as fastavro_validate
    from hypothesis_jsonschema import from_schema

    import eventharness as eh
    from eventharness.data.draw import draw
    from eventharness.data.jsonschema import close_objects

    n = ctx.size(400, 40)
    passes = 2 if ctx.quick else 3
    harness_json = eh.data.from_schema(JSON_SCHEMA)
    harness_avro = eh.data.from_schema(AVRO_SCHEMA)
    library = from_schema(close_objects(JSON_SCHEMA))
    as_written = from_schema(JSON_SCHEMA)
    for warm in (harness_json.strategy, harness_avro.strategy, library, as_written):
        draw(warm, 5, seed=99)  # strategies resolve (regexes, canonical schemas) on first use
    sides: dict[str, Callable[[int, int], Any]] = {
        "baseline": lambda k, s: draw(library, k, seed=s),
        "as_written": lambda k, s: draw(as_written, k, seed=s),
        "generate JSON Schema": lambda k, s: harness_json.sample(k, seed=s),
        "generate Avro": lambda k, s: harness_avro.sample(k, seed=s),
    }
    sizes = {**dict.fromkeys(sides, n), "as_written": max(CHUNK, n // 4)}
    rates = _alternating(sides, sizes, passes)
    baseline, written = rates["baseline"], rates["as_written"]
    parsed = parse_schema(AVRO_SCHEMA)
    rows = []
    for label, generated in (
        ("generate JSON Schema", harness_json),
        ("generate Avro", harness_avro),
    ):
        rate = rates[label]
        values = generated.sample(n, seed=1)
        assert all(not generated.validator.validate(v) for v in values[:50]), label
        notes: dict[str, Any] = {"events": n, "passes": passes}
        if label.endswith("Avro"):
            start = time.perf_counter()
            for value in values:
                fastavro_validate(value, parsed, raise_errors=False)
            notes["fastavro_validate_ev_s"] = round(n / (time.perf_counter() - start))
        else:
            notes["hypothesis_jsonschema_as_written_ev_s"] = round(written, 1)
        rows.append(
            Row(
                name=label,
                harness=rate,
                unit="ev/s",
                baseline=baseline,
                baseline_unit="ev/s (hypothesis-jsonschema)",
                ratio=rate / baseline,
                measure=rate / baseline,
                target=0.8 if label.endswith("Schema") else 1.0,
                sense=">=",
                notes=notes,
            )
        )
    return rows


# --- shrinking -------------------------------------------------------------------------------


async def _payments(url: str, ready: asyncio.Event) -> None:
    """The shop's payments with FAULT=big-total, on the memory broker."""
    from eventharness.model.events import Record
    from eventharness.transports.base import open_transport

    async with await open_transport(url) as t:
        sub = await t.subscribe("orders", group="payments")
        ready.set()
        async for rec in sub:
            order = json.loads(rec.value)
            amount = order["total"]
            if amount >= LIMIT:
                amount = round(amount * 0.99, 2)
            payment = {
                "type": "PaymentAuthorized" if order["total"] <= LIMIT else "PaymentDeclined",
                "order_id": order["order_id"],
                "amount": amount,
            }
            headers = {k: v for k, v in rec.headers.items() if k == "correlation-id"}
            await t.publish("payments", Record(json.dumps(payment).encode(), rec.key, headers))


async def shrink_row(ctx: Context) -> Row:
    import eventharness as eh
    from eventharness.files.loader import FileContext, load_files
    from eventharness.files.properties import run_property
    from eventharness.schemas import LocalSchemaStore

    store = LocalSchemaStore(str(ROOT / "examples" / "shop" / "schemas"))
    context = FileContext(brokers={"kafka"}, schemas=store)
    (file,) = load_files([PROPERTY_FILE], lambda _p: context)
    url = f"memory://bench-shrink-{uuid.uuid4().hex[:8]}"
    ready = asyncio.Event()
    service = asyncio.create_task(_payments(url, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with eh.Harness({"kafka": url}, schemas=store) as harness:
            started = time.perf_counter()
            outcome = await run_property(harness, file, seed=11)
            total = time.perf_counter() - started
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
    message = outcome.result.failures[0].message if outcome.result.failures else ""
    found = re.search(
        r"minimal example (\{.*\}) \(example (\d+) of \d+ failed; (\d+) shrink runs", message
    )
    if outcome.status == "passed" or found is None:
        raise RuntimeError(f"the property example did not fail and shrink: {message!r}")
    minimal = json.loads(found.group(1))
    examples, shrinks = int(found.group(2)), int(found.group(3))
    took = re.search(r"shrinking took ([\d.]+)s", " ".join(outcome.result.failures[0].details))
    if took is None:
        raise RuntimeError("the failure does not say how long shrinking took")
    shrink_s = max(float(took.group(1)), 0.01)  # the report's two decimals
    per_flow = (total - shrink_s) / examples  # the runs up to the first failure
    return Row(
        name="shrink property example (memory)",
        harness=shrink_s,
        unit="s",
        baseline=per_flow,
        baseline_unit="s per flow",
        ratio=shrink_s / per_flow,
        measure=shrink_s,
        target=file.shrink_time,
        target_unit="s",
        sense="<=",
        notes={
            "minimal_total": minimal["order"]["total"],
            "examples_until_failure": examples,
            "shrink_runs": shrinks,
            "total_s": round(total, 3),
            "stopped_early": "stopped early" in message,
        },
    )
