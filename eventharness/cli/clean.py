"""``eventharness clean``: remove what crashed runs left on the profile's brokers.

    eventharness clean                       # what runs that are gone recorded (state dir)
    eventharness clean --prefix shop-        # and Kafka topics/groups whose names start so
    eventharness clean --dry-run             # only list what would go

A run records what it creates, named with its run id, in ``<state dir>/runs/<run id>.json``
and removes it when it ends (:mod:`eventharness.env.leftovers`). A run that was killed leaves
its record: ``clean`` reads the records of the profile's runs whose process is gone, removes
what they name (on Kafka also every topic and consumer group whose name holds their run id,
found by listing) and deletes the records once nothing is left. ``--prefix`` adds Kafka topics
and groups whose names start with PREFIX, and keeps to recorded names that start with it or
records whose run id does. RabbitMQ cannot be listed without its management plugin: there only
recorded names are removed, each checked with a passive declare first.

Exit 0 when everything found was removed (or nothing was left), 2 when something could not be
removed or a broker could not be reached.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from eventharness.cli.errors import ERROR, OK, fail, friendly
from eventharness.cli.setup import (
    BrokerOption,
    ConfigOption,
    ProfileOption,
    StateOption,
    console,
    make_setup,
    quiet_clients,
    state_dir_of,
)
from eventharness.env.brokers import EMBEDDED

__all__ = ["clean"]


def clean(
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Also remove Kafka topics and groups whose names start with PREFIX; keep to "
            "recorded names (or run ids) that start with it.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; remove nothing.")
    ] = False,
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Remove topics, consumer groups, exchanges and queues that crashed runs left behind."""
    with friendly():
        quiet_clients(False)
        if prefix is not None and not prefix.strip():
            fail("--prefix: give the start of the names to remove, e.g. --prefix shop-")
        setup = make_setup(config, profile, broker)
        chosen = setup.profile(None)
        folder = state_dir_of(setup.config, state_dir)
        brokers = {
            name: url
            for name, url in setup.brokers(chosen, setup.running(chosen, folder)).items()
            if url != EMBEDDED
        }
        from eventharness.env.leftovers import dead_ledgers

        ledgers = dead_ledgers(folder, chosen.name)
        if prefix:
            ledgers = [
                ledger
                for ledger in ledgers
                if ledger.run_id.startswith(prefix)
                or any(i.name.startswith(prefix) for i in ledger.items)
            ]
        if not ledgers and prefix is None:
            console.print(
                f"nothing to clean: no run of profile {chosen.name!r} that is gone left a record "
                f"in {folder}; give --prefix to remove Kafka topics and groups by name",
                soft_wrap=True,
            )
            raise typer.Exit(OK)
        code = asyncio.run(_clean(ledgers, brokers, prefix, dry_run))
    raise typer.Exit(code)


async def _clean(ledgers: list[Any], brokers: dict[str, str], prefix: str | None, dry: bool) -> int:
    from eventharness.env.leftovers import find_named, remove_leftovers

    wanted = [
        item
        for ledger in ledgers
        for item in ledger.items
        if prefix is None or item.name.startswith(prefix) or ledger.run_id.startswith(prefix)
    ]
    found, problems = await find_named(
        brokers, contains=[ledger.run_id for ledger in ledgers], prefix=prefix
    )
    removal = await remove_leftovers([*wanted, *found], brokers, dry_run=dry)
    verb = "would remove" if dry else "removed"
    for item in removal.removed:
        console.print(f"{verb} {item}", soft_wrap=True)
    for problem in problems:
        console.print(f"[yellow]could not list {problem}[/]", soft_wrap=True)
    for item, why in removal.failed:
        console.print(f"[red]could not remove {item}: {why}[/]", soft_wrap=True)
    if not dry:
        failed = {item for item, _ in removal.failed}
        for ledger in ledgers:
            ledger.settle(item for item in ledger.items if item in failed)
    count = len(removal.removed)
    console.print(
        f"{verb} {count} thing{'s' if count != 1 else ''}"
        + (f" left by {len(ledgers)} run{'s' if len(ledgers) != 1 else ''}" if ledgers else ""),
        soft_wrap=True,
    )
    return ERROR if removal.failed or problems else OK
