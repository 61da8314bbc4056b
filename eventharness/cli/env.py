"""``eventharness up``, ``down`` and ``status``: an environment that outlives the command.

``up`` launches the supervisor (:mod:`eventharness.env.supervisor`) and shows what it started;
``status`` shows the recorded processes and whether each still runs (exit 1 if one is gone);
``down`` stops them, by pid, only while each is still the process that was started.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from eventharness.cli.errors import FAILED, fail, friendly
from eventharness.cli.setup import (
    BrokerOption,
    ConfigOption,
    ProfileOption,
    StateOption,
    console,
    make_setup,
    state_dir_of,
)
from eventharness.env.brokers import check_brokers
from eventharness.env.config import load_config
from eventharness.env.state import EnvironmentState, read_state, state_path

__all__ = ["down", "show_state", "status", "up"]


def up(
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for everything.")] = 180.0,
) -> None:
    """Start the profile's embedded brokers and services and keep them running.

    Its other brokers are checked first: one that refuses is the error, and nothing starts.
    """
    from eventharness.env.supervisor import launch_supervisor

    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = setup.profile(None)
        folder = state_dir_of(setup.config, state_dir)
        state = read_state(folder)
        if state is not None and state.alive():
            fail(
                f"an environment (profile {state.profile}) is already up in {folder}; "
                "`eventharness down` first"
            )
        began = time.monotonic()
        with console.status(f"checking the brokers of profile {chosen.name}…"):
            check_brokers(setup.brokers(chosen, None), chosen.connect_timeout)
        with console.status(f"starting profile {chosen.name}…"):
            state = launch_supervisor(
                setup.config, chosen, brokers=setup.overrides, state_dir=folder, timeout=timeout
            )
        console.print(
            Text(
                f"✓ up in {time.monotonic() - began:.1f}s (profile {chosen.name}, "
                f"run id {state.run_id})",
                style="green",
            )
        )
        show_state(state)


def down(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Stop everything `eventharness up` started (by pid; nothing else)."""
    from eventharness.env.supervisor import bring_down

    with friendly():
        folder = state_dir_of(load_config(config), state_dir)
        outcome = bring_down(folder)
    if not outcome:
        console.print("nothing is up")
        return
    for label, pid, what in outcome:
        console.print(f"{label} (pid {pid}): {what}")


def status(config: ConfigOption = None, state_dir: StateOption = None) -> None:
    """Show what `eventharness up` started and whether it still runs (exit 1 if not all)."""
    with friendly():
        folder = state_dir_of(load_config(config), state_dir)
        state = read_state(folder)
    if state is None:
        console.print(f"nothing is up (no {state_path(folder)})")
        return
    if not show_state(state):
        raise typer.Exit(FAILED)


def show_state(state: EnvironmentState) -> bool:
    """A table of the recorded processes; True when all of them still run."""
    table = Table(show_edge=False, pad_edge=False)
    for column in ("what", "pid", "state", "detail"):
        table.add_column(column)
    alive = True
    for label, process in state.processes():
        running = process.alive()
        alive = alive and running
        name = label.split(" ", 1)[-1]
        detail = ""
        if label.startswith("service"):
            svc = state.services[name]
            detail = f"ready: {svc.ready or '-'} · log {svc.log}"
        elif label.startswith("broker"):
            detail = f"{state.embedded[name].url} · log {state.embedded[name].log}"
        table.add_row(
            label,
            str(process.pid),
            Text("running" if running else "gone", style="green" if running else "red"),
            detail,
        )
    for name, reason in state.skipped.items():
        table.add_row(f"service {name}", "-", Text("not started", style="yellow"), reason)
    console.print(table)
    brokers = ", ".join(f"{k}={v}" for k, v in state.brokers.items())
    console.print(Text(f"brokers: {brokers}", style="dim"))
    return alive
