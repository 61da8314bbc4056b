"""What a run creates on the brokers, recorded while it runs and removed when it ends.

    ledger = Ledger.begin(state_dir, run_id, profile="default", items=planned)
    ...                                             # the scenarios run
    outcome = remove_leftovers(ledger.items, brokers, run_id=run_id)
    ledger.settle(outcome.failed)                   # gone when everything was removed

Things are named with the run id (``${run.id}``): Kafka topics and consumer groups, RabbitMQ
exchanges and queues. The run writes what it plans to use into
``<state dir>/runs/<run id>.json`` before its first scenario, with its pid, so a run that is
killed (``SIGKILL``, a crash, a lost CI runner) leaves a record; ``eventharness clean`` reads
the records of runs whose process is gone and removes what they name. On Kafka every topic and
group whose name holds the run id is removed too, found by listing (services' own groups named
``shop-${run.id}-...`` included). RabbitMQ cannot be listed without its management plugin, so
there only the recorded names are removed (checked with passive declares first).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventharness.env.processes import is_same, process_start
from eventharness.model.errors import EventHarnessError
from eventharness.transports.admin import BrokerAdmin, broker_family

__all__ = ["Item", "Ledger", "Removal", "dead_ledgers", "find_named", "remove_leftovers"]


@dataclass(frozen=True, order=True)
class Item:
    """One thing on a broker: ``kind`` is topic, group (Kafka), exchange or queue (RabbitMQ)."""

    broker: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.broker} {self.kind} {self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"broker": self.broker, "kind": self.kind, "name": self.name}


@dataclass
class Removal:
    """What removing leftovers did: removed, already gone, and what failed (with why)."""

    removed: list[Item] = field(default_factory=list)
    failed: list[tuple[Item, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "removed": [item.to_dict() for item in self.removed],
            "not_removed": [{**item.to_dict(), "reason": why} for item, why in self.failed],
        }


@dataclass
class Ledger:
    """The record of one run: its id, its process, its profile, what it uses."""

    path: Path
    run_id: str
    profile: str
    pid: int
    start: int | None
    items: list[Item]

    @classmethod
    def begin(cls, state_dir: Path, run_id: str, profile: str, items: Iterable[Item]) -> Ledger:
        pid = os.getpid()
        path = state_dir / "runs" / f"{run_id}.json"
        ledger = cls(path, run_id, profile, pid, process_start(pid), sorted(set(items)))
        ledger.write()
        return ledger

    @classmethod
    def read(cls, path: Path) -> Ledger | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            items = [Item(str(i["broker"]), str(i["kind"]), str(i["name"])) for i in data["items"]]
            return cls(
                path, str(data["run_id"]), str(data["profile"]), int(data["pid"]),
                data.get("start"), items,
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError):
            return None  # unreadable: not ours to act on

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "run_id": self.run_id,
            "profile": self.profile,
            "pid": self.pid,
            "start": self.start,
            "items": [item.to_dict() for item in self.items],
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        temporary.replace(self.path)

    @property
    def alive(self) -> bool:
        """Is the run that wrote this still running?"""
        return self.pid != os.getpid() and is_same(self.pid, self.start)

    def settle(self, failed: Iterable[Item]) -> None:
        """Keep only what could not be removed; remove the record when nothing is left."""
        self.items = sorted(set(failed))
        if self.items:
            self.write()
        else:
            self.path.unlink(missing_ok=True)


def dead_ledgers(state_dir: Path, profile: str | None = None) -> list[Ledger]:
    """The records of runs (of ``profile``) whose process is gone, oldest first."""
    found: list[Ledger] = []
    for path in sorted((state_dir / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime):
        ledger = Ledger.read(path)
        mine = ledger is not None and (profile is None or ledger.profile == profile)
        if ledger is not None and mine and not ledger.alive:
            found.append(ledger)
    return found


async def find_named(
    brokers: Mapping[str, str],
    *,
    contains: Iterable[str] = (),
    prefix: str | None = None,
    connect_timeout: float = 10.0,
) -> tuple[list[Item], list[str]]:
    """Topics and groups on the Kafka brokers whose names hold one of ``contains`` or start with
    ``prefix``; and the problems of brokers that could not be listed."""
    marks = [m for m in contains if m]
    found: list[Item] = []
    problems: list[str] = []
    for broker, url in brokers.items():
        if broker_family(url) != "kafka" or not (marks or prefix):
            continue
        try:
            async with BrokerAdmin.open(url, connect_timeout) as admin:
                for kind, name in await admin.names():
                    if any(m in name for m in marks) or (prefix and name.startswith(prefix)):
                        found.append(Item(broker, kind, name))
        except EventHarnessError as exc:
            problems.append(f"{broker}: {exc}")
    return found, problems


async def remove_leftovers(
    items: Iterable[Item],
    brokers: Mapping[str, str],
    *,
    dry_run: bool = False,
    connect_timeout: float = 10.0,
) -> Removal:
    """Remove ``items`` (Kafka groups before topics); those already gone are left out of both
    lists. ``dry_run``: only find which exist (reported as removed)."""
    outcome = Removal()
    by_broker: dict[str, list[Item]] = {}
    for item in sorted(set(items), key=lambda i: (i.broker, i.kind != "group", i.name)):
        by_broker.setdefault(item.broker, []).append(item)
    for broker, wanted in by_broker.items():
        url = brokers.get(broker)
        if url is None or broker_family(url) is None:
            why = "no such broker in the profile" if url is None else "not a Kafka/AMQP broker"
            outcome.failed.extend((item, why) for item in wanted)
            continue
        try:
            async with BrokerAdmin.open(url, connect_timeout) as admin:
                for item in wanted:
                    await _remove_one(admin, item, outcome, dry_run)
        except EventHarnessError as exc:
            done = {*outcome.removed, *(i for i, _ in outcome.failed)}
            outcome.failed.extend((item, str(exc)) for item in wanted if item not in done)
    return outcome


async def _remove_one(admin: BrokerAdmin, item: Item, outcome: Removal, dry_run: bool) -> None:
    try:
        if not await admin.exists(item.kind, item.name):
            return
        if not dry_run:
            await admin.remove(item.kind, item.name)
        outcome.removed.append(item)
    except Exception as exc:  # a client's own error too: reported with the item, never raised
        outcome.failed.append((item, str(exc) or type(exc).__name__))
