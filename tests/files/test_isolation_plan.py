"""Which names a run records as its own before it starts: those its files' channels and stub
groups give with the run id, rendered from what is known then."""

from __future__ import annotations

import textwrap
from pathlib import Path

from eventharness.env.leftovers import Item
from eventharness.files.isolation import planned
from eventharness.files.loader import FileContext, load_file

BROKERS = {
    "kafka": "kafka://127.0.0.1:9092",
    "rabbit": "amqp://guest:guest@127.0.0.1:5672/",
    "mem": "memory://x",
}

FILE = """\
name: isolated
vars: {orders: "eh-${run.id}-orders", each: "eh-${uuid}"}
stubs:
  - consume: "kafka:${orders}"
    group: "eh-${run.id}-workers"
    respond: [{channel: "rabbit:eh-${run.id}-ex/shipped", value: {}}]
  - {consume: "rabbit:eh-${run.id}-ex/#", group: "eh-${run.id}-queue"}
  - {consume: "kafka:shared", group: "billing"}
setup:
  - publish: {channel: "rabbit:/eh-${run.id}-inbox", value: {}}
steps:
  - publish: {channel: "kafka:${vars.prefix}-payments", value: {}}
  - publish: {channel: "kafka:${each}", value: {}}
  - publish: {channel: "mem:eh-${run.id}-mem", value: {}}
  - expect: {channel: "kafka:shared", within: 1s}
"""


def test_names_with_the_run_id_are_planned(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(FILE))
    file = load_file(path, FileContext(brokers=set(BROKERS), variables={"prefix"}))
    variables = {"prefix": "eh-r1", "vars": {"prefix": "eh-r1"}}  # resolved by the environment
    assert planned([file], variables, run_id="r1", brokers=BROKERS) == sorted(
        [
            Item("kafka", "topic", "eh-r1-orders"),
            Item("kafka", "group", "eh-r1-workers"),
            Item("kafka", "topic", "eh-r1-payments"),
            Item("rabbit", "exchange", "eh-r1-ex"),
            Item("rabbit", "queue", "eh-r1-queue"),
            Item("rabbit", "queue", "eh-r1-inbox"),
        ]
    )  # not: shared names (kafka:shared, billing), ${uuid} names, memory brokers
    assert planned([file], variables, run_id="", brokers=BROKERS) == []
