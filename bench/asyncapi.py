"""AsyncAPI import and export at size.

* import: a generated AsyncAPI 3.0.0 document of 200 channels (each with a message whose
  payload is a ``$ref`` to a component schema, a Kafka binding, a send and a receive
  operation), read into the typed model and checked against the official JSON Schema
  (``eventharness asyncapi check`` without ``--against``). Baseline: ``yaml.safe_load`` of the
  same text — the parse alone, which any import pays.
* export: a recording of 100,000 events (4 channels, 5 event types) loaded and written as an
  AsyncAPI document (schemas inferred by genson, 1,000 samples per message). Baseline:
  ``Recording.load`` of the same file — reading it, which any export pays.

No target in DESIGN §9; the rows hold the figures under generous ceilings (import < 2 s,
export < 30 s) so a regression by an order of magnitude shows. ``--quick``: 40 channels and
10,000 events, scaled linearly.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import Context, Row

__all__ = ["document_text", "recording_lines", "run"]


def document_text(channels: int) -> str:
    doc: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {"title": "generated", "version": "1.0.0"},
        "servers": {"kafka": {"host": "127.0.0.1:9092", "protocol": "kafka"}},
        "channels": {},
        "operations": {},
        "components": {"schemas": {}},
    }
    for i in range(channels):
        name = f"c{i:04d}"
        doc["components"]["schemas"][f"P{i}"] = {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string"}, "n": {"type": "integer"}},
        }
        doc["channels"][name] = {
            "address": f"topic.{i}",
            "messages": {
                "m": {
                    "name": f"M{i}",
                    "correlationId": {"location": "$message.header#/correlation-id"},
                    "payload": {"$ref": f"#/components/schemas/P{i}"},
                    "examples": [{"payload": {"id": "x", "n": i}}],
                }
            },
            "bindings": {"kafka": {"partitions": 4}},
        }
        ref = {"$ref": f"#/channels/{name}"}
        doc["operations"][f"send{i}"] = {"action": "send", "channel": ref, "x-service": "a"}
        doc["operations"][f"recv{i}"] = {"action": "receive", "channel": ref, "x-service": "b"}
    return yaml.safe_dump(doc, sort_keys=False)


def recording_lines(events: int) -> str:
    channels = ["kafka:orders", "kafka:payments", "rabbit:shipping/shipment.scheduled", "kafka:x"]
    types = ["OrderPlaced", "PaymentAuthorized", "PaymentDeclined", "ShipmentScheduled", "Other"]
    out = []
    for i in range(events):
        value = {"type": types[i % 5], "order_id": f"o-{i}", "total": i % 1000, "ok": i % 2 == 0}
        out.append(
            json.dumps(
                {
                    "t": i * 0.001,
                    "channel": channels[i % 4],
                    "key": f"o-{i}",
                    "headers": {"correlation-id": f"c-{i // 3}"},
                    "value": value,
                }
            )
        )
    return "\n".join(out) + "\n"


def _best(fn: Any, times: int) -> float:
    best = float("inf")
    for _ in range(times):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best


async def run(ctx: Context) -> list[Row]:
    from eventharness.asyncapi.export import export_document, to_yaml
    from eventharness.asyncapi.reader import read_document
    from eventharness.asyncapi.source import Source
    from eventharness.asyncapi.structure import check_structure
    from eventharness.engine.recordfile import Recording

    channels = ctx.size(200, 40)
    events = ctx.size(100_000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        doc_path = Path(tmp) / "doc.yaml"
        text = document_text(channels)
        doc_path.write_text(text)

        def import_doc() -> None:
            source = Source.open(doc_path)
            problems = check_structure(source)
            if problems:
                raise RuntimeError(problems[0])
            read_document(source)

        import_doc()  # the official schema's validator is built once per process
        imported = _best(import_doc, ctx.size(3, 1)) * 200 / channels
        parsed = _best(lambda: yaml.safe_load(text), ctx.size(3, 1)) * 200 / channels

        rec_path = Path(tmp) / "rec.jsonl"
        rec_path.write_text(recording_lines(events))

        def export() -> None:
            to_yaml(export_document([Recording.load(rec_path)]))

        exported = _best(export, 1) * 100_000 / events
        loaded = _best(lambda: Recording.load(rec_path), 1) * 100_000 / events
    return [
        Row(
            name="asyncapi import+check, 200 channels",
            harness=imported,
            unit="s",
            target=2.0,
            target_unit="s",
            sense="<=",
            measure=imported,
            baseline=parsed,
            baseline_unit="s (yaml.safe_load)",
            ratio=imported / parsed if parsed else None,
            notes={"channels": channels, "bytes": len(text)},
        ),
        Row(
            name="asyncapi export, 100,000 events",
            harness=exported,
            unit="s",
            target=30.0,
            target_unit="s",
            sense="<=",
            measure=exported,
            baseline=loaded,
            baseline_unit="s (Recording.load)",
            ratio=exported / loaded if loaded else None,
            notes={"events": events},
        ),
    ]
