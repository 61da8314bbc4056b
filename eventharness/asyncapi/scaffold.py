"""Starting points written from an AsyncAPI document: one scenario file per flow, and what
``eventharness init`` writes (a config, the scenarios, a CI workflow).

    files = scaffold(doc)                    # {"placeOrder-payOrder.yaml": "name: ...", ...}
    files = init_files(doc, doc_path="docs/asyncapi.yaml")   # + eventharness.toml, workflow

A flow is a ``send`` whose messages another operation ``receive``s. Its scenario publishes the
sent message (its first example, or ``{}``) on the channel and expects what the receiving
service sends in turn (its ``send`` operations; the message whose example shares most fields
with the published one), ``match`` holding the example's ``type`` and the fields both examples
agree on (the order id a service carries over). A receiver that sends nothing: the published
message itself is expected on its channel. Address parameters (``lamps.{lampId}.on``) become
scenario variables. Schemas are bound by the profile's ``asyncapi`` key, not per step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from eventharness.asyncapi.binding import broker_names
from eventharness.asyncapi.model import Channel, Document, Message, Operation

__all__ = ["WORKFLOW", "config_text", "init_files", "scaffold", "starter_scenario"]

WITHIN = "10s"


def _example(message: Message) -> Any:
    for example in message.examples:
        if example.payload is not None:
            return example.payload
    return {}


def _channel(doc: Document, channel: Channel, kinds: Mapping[str, str]) -> tuple[str, set[str]]:
    """The scenario's channel text (parameters as ``${name}``) and the parameters used."""
    target = channel.target(kinds.get(channel.protocol, channel.protocol))
    params = set(re.findall(r"\{([^}]+)\}", target))
    return re.sub(r"\{([^}]+)\}", r"${\1}", target), params


def _match(sent: Any, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, Mapping):
        return {}
    shared = sent if isinstance(sent, Mapping) else {}
    return {
        k: v
        for k, v in answer.items()
        if not isinstance(v, Mapping | list) and (k == "type" or shared.get(k) == v)
    }


def _answer(doc: Document, service: str | None, sent: Any) -> list[tuple[Channel, Message]]:
    """What ``service`` sends in turn: per send operation, its most similar message."""
    out = []
    for op in doc.operations.values():
        if op.action != "send" or service is None or op.service != service:
            continue
        messages = doc.messages_of(op)
        if not messages:
            continue
        best = max(messages, key=lambda m: len(_match(sent, _example(m))))
        out.append((doc.channels[op.channel], best))
    return out


def _flow_scenario(
    doc: Document, send: Operation, receive: Operation, kinds: Mapping[str, str]
) -> dict[str, Any]:
    channel = doc.channels[send.channel]
    received = {m.id for m in doc.messages_of(receive)}
    message = next(m for m in doc.messages_of(send) if m.id in received)
    value = _example(message)
    target, params = _channel(doc, channel, kinds)
    steps: list[dict[str, Any]] = []
    answers = _answer(doc, receive.service, value)
    for i, (out_channel, out_message) in enumerate(answers):
        out_target, more = _channel(doc, out_channel, kinds)
        params |= more
        expect: dict[str, Any] = {
            "as": f"answer{i + 1}" if len(answers) > 1 else "answer",
            "channel": out_target,
        }
        match = _match(value, _example(out_message))
        if match:
            expect["match"] = match
        expect["within"] = WITHIN
        steps.append({"expect": expect})
    if not answers:
        steps.append(
            {
                "expect": {
                    "as": "received",
                    "channel": target,
                    **({"match": _match(value, value)} if _match(value, value) else {}),
                    "within": WITHIN,
                }
            }
        )
    publish: dict[str, Any] = {"channel": target, "value": value}
    steps.insert(0, {"publish": publish})
    steps.append(steps.pop(0))  # expectations are armed before the publish that triggers them
    scenario: dict[str, Any] = {
        "name": f"{message.name}: {send.service or 'sender'} → {receive.service or 'receiver'}",
    }
    if params:
        scenario["vars"] = {p: f"{p}-1" for p in sorted(params)}
    scenario["steps"] = steps
    return scenario


def scaffold(doc: Document, brokers: Mapping[str, str] | None = None) -> dict[str, str]:
    """File name → scenario text, one per flow of ``doc``."""
    kinds = broker_names(brokers or {})
    files: dict[str, str] = {}
    for send, receive in doc.flows():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{send.id}-{receive.id}") + ".yaml"
        head = (
            f"# Scaffolded from {doc.file} by `eventharness asyncapi scaffold`: operation "
            f"{send.id!r} sends, {receive.id!r} receives.\n"
        )
        body = yaml.safe_dump(
            _flow_scenario(doc, send, receive, kinds),
            sort_keys=False,
            allow_unicode=True,
            width=100,
        )
        files[name] = head + body
    return files


def starter_scenario() -> str:
    return (
        "# A first scenario (eventharness init): publish an event and see it arrive.\n"
        "name: an event goes round\n"
        'vars: {order_id: "o-${uuid}"}\n'
        "steps:\n"
        '  - expect: {as: seen, channel: kafka:orders, match: {order_id: "${order_id}"}, '
        "within: 10s}\n"
        '  - publish: {channel: kafka:orders, key: "${order_id}", value: {type: OrderPlaced, '
        'order_id: "${order_id}"}}\n'
    )


def _toml_table(values: Mapping[str, str]) -> str:
    return "{ " + ", ".join(f'{k} = "{v}"' for k, v in values.items()) + " }"


def config_text(
    doc: Document | None, doc_path: str | None, brokers: Mapping[str, str] | None = None
) -> str:
    """``eventharness.toml``: an embedded-Kafka profile (default), a compose profile and, for
    each server of the document, a profile with its URL (credentials come from the
    environment, never from this file)."""
    kinds = {c.protocol for c in doc.channels.values()} if doc is not None else {"kafka"}
    names = broker_names({})
    local = {}
    compose = {}
    if "kafka" in kinds:
        local[names["kafka"]] = "embedded"
        compose[names["kafka"]] = "kafka://127.0.0.1:9092"
    if "amqp" in kinds:
        local[names["amqp"]] = "amqp://guest:guest@127.0.0.1:5672/"
        compose[names["amqp"]] = "amqp://guest:guest@127.0.0.1:5672/"
    local.update(brokers or {})
    lines = [
        "# eventharness configuration (docs/config.md), written by `eventharness init`.",
        'default_profile = "default"',
        "",
        "# Embedded Kafka (started by eventharness) and a local RabbitMQ.",
        "[profiles.default]",
        f"brokers = {_toml_table(local)}",
        'within = "10s"',
        'paths = ["scenarios"]',
    ]
    if doc_path is not None:
        lines.append(
            f'asyncapi = "{doc_path}"  # channels bound to its schemas and correlation ids'
        )
    lines += [
        "",
        "# The brokers of compose/docker-compose.yml (docker compose up -d --wait).",
        "[profiles.compose]",
        'extends = "default"',
        f"brokers = {_toml_table(compose)}",
    ]
    for server in doc.servers.values() if doc is not None else []:
        if server.kind not in ("kafka", "amqp") or "{" in server.url:
            continue
        ident = re.sub(r"[^A-Za-z0-9_-]+", "-", server.id)
        security = f" — security: {', '.join(server.security)}" if server.security else ""
        lines += [
            "",
            f"# Server {server.id!r} of the AsyncAPI document{security}.",
            "# Credentials come from the environment: never write them here.",
            f"[profiles.{ident}]",
            'extends = "default"',
            f'brokers = {{ {names[server.kind]} = "{server.url}" }}',
        ]
    return "\n".join(lines) + "\n"


WORKFLOW = """\
# Written by `eventharness init`: schemas, scenarios and a JUnit report on every push and PR.
name: eventharness
on:
  push:
  pull_request:
jobs:
  events:
    runs-on: ubuntu-latest
    services:
      rabbitmq:
        image: rabbitmq:3.13-management
        ports: ["5672:5672"]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install 'eventharness[kafka,amqp,embedded,asyncapi]'
      - name: schemas check
        if: github.event_name == 'pull_request' && hashFiles('schemas/**') != ''
        run: eventharness schemas check --against origin/${{ github.base_ref }}
{asyncapi_step}      - run: eventharness validate scenarios
      - run: eventharness run scenarios --junit reports/junit.xml
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: eventharness-junit
          path: reports/junit.xml
"""


def init_files(
    doc: Document | None, doc_path: str | None, brokers: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Relative path → text of everything ``eventharness init`` writes."""
    files = {"eventharness.toml": config_text(doc, doc_path, brokers)}
    scenarios = scaffold(doc, brokers) if doc is not None else {}
    if not scenarios:
        scenarios = {"first.yaml": starter_scenario()}
    files.update({f"scenarios/{name}": text for name, text in scenarios.items()})
    step = f"      - run: eventharness asyncapi check {doc_path}\n" if doc_path else ""
    files[".github/workflows/eventharness.yml"] = WORKFLOW.replace("{asyncapi_step}", step)
    return files
