"""What a run's scenario files will create, named with the run id: the items to record before
the run and remove after it (:mod:`eventharness.env.leftovers`).

    planned(files, variables, run_id="3f2a9c1e", brokers={"kafka": "kafka://...", ...})

Channels (steps, stubs, their responses, setup/teardown publishes) and stub groups are rendered
with what is known before the run (the profile's variables, ``${run.id}``, the file's ``vars``,
``${env.X}``); a name that still holds a template, or does not hold the run id, is not the
run's to remove. What each becomes:

=====================  =======================  ================================
channel / group        Kafka                    RabbitMQ
=====================  =======================  ================================
``b:NAME`` (channel)   topic ``NAME``           exchange ``NAME`` (``NAME/key``)
``b:/NAME``            —                        queue ``NAME``
stub ``group: G``      consumer group ``G``     queue ``G`` (the worker queue)
=====================  =======================  ================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from eventharness.engine.templates import Reference, render
from eventharness.env.leftovers import Item
from eventharness.files.model import ScenarioFile
from eventharness.model.channels import parse_channel
from eventharness.model.errors import UsageError
from eventharness.transports.admin import broker_family

__all__ = ["planned"]


def planned(
    files: Iterable[ScenarioFile],
    variables: Mapping[str, Any],
    *,
    run_id: str,
    brokers: Mapping[str, str],
) -> list[Item]:
    """The topics, groups, exchanges and queues ``files`` name with ``run_id``."""
    if not run_id:
        return []
    found: set[Item] = set()
    for file in files:
        values = {**variables, "run": {"id": run_id}}
        resolve = _resolver(values)
        for name, raw in file.vars.items():
            try:
                values[name] = render(raw, resolve)
            except (LookupError, UsageError):
                continue  # a per-scenario value (${uuid}, a row): names no run-wide thing
        for text in file.channels:
            item = _channel_item(_rendered(text, resolve), brokers)
            if item is not None:
                found.add(item)
        for stub in file.stubs:
            group = _rendered(stub.group, resolve) if stub.group else None
            broker = _rendered(stub.consume, resolve).partition(":")[0]
            family = broker_family(brokers.get(broker, ""))
            if group and family is not None:
                found.add(Item(broker, "group" if family == "kafka" else "queue", group))
    return sorted(item for item in found if run_id in item.name)


def _resolver(values: Mapping[str, Any]) -> Any:
    def resolve(ref: Reference) -> Any:
        head, _, path = ref.name.partition(".")
        if head in values:
            value = values[head]
            for part in path.split(".") if path else ():
                value = value[part]
            return value
        if head == "env":
            return os.environ.get(path, ref.default or "")
        raise LookupError(ref.name)

    return resolve


def _rendered(text: str, resolve: Any) -> str:
    try:
        return str(render(text, resolve))
    except (LookupError, UsageError, TypeError):
        return text  # still a template: not a name known before the run


def _channel_item(text: str, brokers: Mapping[str, str]) -> Item | None:
    if "${" in text:
        return None
    try:
        channel = parse_channel(text, known_brokers=brokers)
    except UsageError:
        return None
    family = broker_family(brokers.get(channel.broker, ""))
    address = channel.address
    if family == "kafka":
        return Item(channel.broker, "topic", address)
    if family == "amqp":
        if address.startswith("/"):
            return Item(channel.broker, "queue", address[1:])
        return Item(channel.broker, "exchange", address.partition("/")[0])
    return None
