"""What every command starts from: the options they share, the configuration and profile
they resolve, the broker URLs that profile means, and the console they print on.

Output that is not a terminal (a pipe, a file, a CI log) is never wrapped: tables, lines and
``--help`` are as wide as their content (:data:`WIDE` columns at most) unless ``COLUMNS`` says
otherwise; on a terminal they fit the terminal.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from eventharness.cli.errors import fail
from eventharness.cli.lazy import WIDE, help_settings
from eventharness.env.brokers import parse_broker_overrides, resolve_brokers
from eventharness.env.config import Config, Profile, load_config
from eventharness.env.references import receives_spans as references_otlp
from eventharness.env.state import EnvironmentState, running_state
from eventharness.files.check_base import FileContext

__all__ = [
    "WIDE",
    "BrokerOption",
    "ConcurrencyOption",
    "ConfigOption",
    "ConnectTimeoutOption",
    "ProfileOption",
    "SelectOption",
    "Setup",
    "StateOption",
    "check_connect_timeout",
    "console",
    "help_settings",
    "make_console",
    "make_setup",
    "quiet_clients",
    "receives_spans",
    "state_dir_of",
]


def make_console(*, stderr: bool = False) -> Console:
    """A console that fits a terminal, and does not wrap anything else."""
    made = Console(highlight=False, stderr=stderr)
    if not made.is_terminal and not os.environ.get("COLUMNS"):
        made.width = WIDE
    return made


console = make_console()

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="eventharness.toml or pyproject.toml to use "
        "(default: found by walking up from the current folder).",
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile", "-p", help="Profile for files that name none (config: default_profile)."
    ),
]
BrokerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--broker",
        "-b",
        help="name=URL, overrides the profile's broker (repeatable); URL may be 'embedded'.",
    ),
]
ConnectTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--connect-timeout", help="Seconds to reach each broker (config: connect_timeout)."
    ),
]
SelectOption = Annotated[
    str | None,
    typer.Option(
        "-k",
        help="Only scenarios whose name contains PATTERN (or matches the glob) (config: select).",
    ),
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-j",
        min=1,
        help="Scenarios run at once on one harness (config: concurrency, default 4).",
    ),
]
StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where logs and the state of `up` go "
        "(default: .eventharness next to the config file).",
        envvar="EVENTHARNESS_STATE_DIR",
    ),
]


def quiet_clients(verbose: bool) -> None:
    """Client libraries log connection retries; show them only with --verbose."""
    level = logging.WARNING if verbose else logging.CRITICAL
    for name in ("aiokafka", "aiormq", "aio_pika", "kafka"):
        logging.getLogger(name).setLevel(level)


def state_dir_of(config: Config, state_dir: Path | None) -> Path:
    return (state_dir or config.root / ".eventharness").resolve()


@dataclass
class Setup:
    """The configuration, the broker overrides, and a FileContext per profile."""

    config: Config
    default: str
    overrides: dict[str, str]
    _stores: dict[str, Any] = field(default_factory=dict)

    _bound: dict[str, Any] = field(default_factory=dict)

    def profile(self, name: str | None) -> Profile:
        profile = self.config.profile(name or self.default)
        if profile.asyncapi is None:
            return profile
        bound: Profile = self.bound(profile).profile
        return bound

    def bound(self, profile: Profile) -> Any:
        """The profile's AsyncAPI document bound to it (read once)."""
        if profile.name not in self._bound:
            # lazy: only profiles with `asyncapi = ...` pay for reading documents
            from eventharness.asyncapi.binding import bind_profile
            from eventharness.asyncapi.reader import load_document

            assert profile.asyncapi is not None
            self._bound[profile.name] = bind_profile(profile, load_document(profile.asyncapi))
        return self._bound[profile.name]

    def aliases(self, profile: Profile) -> dict[str, str]:
        """Channel names of the profile's AsyncAPI document (``kafka:{channel id}``)."""
        if profile.asyncapi is None:
            return {}
        found: dict[str, str] = self.bound(profile).aliases
        return found

    def store(self, profile: Profile) -> Any:
        path = self.config.schema_path(profile)
        if profile.name not in self._stores:
            store: Any = None
            if path is not None:
                from eventharness.schemas import LocalSchemaStore

                store = LocalSchemaStore(path)
            if profile.asyncapi is not None:
                store = self.bound(profile).store(store)
            self._stores[profile.name] = store
        return self._stores[profile.name]

    def context_for(self, name: str | None) -> FileContext:
        profile = self.profile(name)
        brokers = {**profile.brokers, **self.overrides}
        return FileContext(
            brokers=set(brokers),
            variables=set(profile.vars),
            schemas=self.store(profile),
            profile=profile.name,
            services={name: svc.proxy for name, svc in profile.services.items()},
            spans=receives_spans(profile),
        )

    def running(self, profile: Profile, state_dir: Path | None) -> EnvironmentState | None:
        """The environment `eventharness up` keeps running for ``profile``, if any."""
        return running_state(state_dir_of(self.config, state_dir), profile.name)

    def brokers(self, profile: Profile, running: EnvironmentState | None) -> dict[str, str]:
        """name → URL for ``profile`` (see :func:`eventharness.env.brokers.resolve_brokers`):
        the same for run, doctor, record and replay."""
        return resolve_brokers(profile.brokers, self.overrides, running)


def make_setup(config_path: Path | None, profile: str | None, brokers: list[str] | None) -> Setup:
    config = load_config(config_path)
    setup = Setup(config, profile or config.default_profile, parse_broker_overrides(brokers or []))
    setup.profile(None)  # an unknown --profile is an error even before any file names it
    return setup


def check_connect_timeout(seconds: float | None) -> None:
    """``--connect-timeout`` must be a positive number of seconds (0 or less would otherwise be
    silently replaced by the profile's)."""
    if seconds is not None and not (0 < seconds < math.inf):
        fail(
            f"--connect-timeout {seconds:g}: give a positive number of seconds, e.g. "
            "--connect-timeout 10"
        )


def receives_spans(profile: Profile) -> bool:
    """Does ``profile`` hand ``${otlp}`` (the run's span receiver) to its services?"""
    services = ((svc.env, svc.command) for svc in profile.services.values())
    return references_otlp(profile.env, services)
