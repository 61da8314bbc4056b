"""Commands imported when they run: ``eventharness --help`` and ``eventharness validate`` do
not pay for the modules of the other commands (broker clients, reports, contracts, AsyncAPI).

The root group lists each command from a table — its module, the attribute holding it and
the first paragraph of its help, which is all ``--help`` prints of it — and imports the
command's module only when the command is resolved to run (or asked for its own ``--help``).
Commands registered on the Typer app the usual way (``app.command()(f)``) work as before.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import typer
import typer.main
from typer import _click
from typer.core import TyperCommand, TyperGroup

__all__ = ["WIDE", "LazyCommand", "LazyGroup", "help_settings"]

WIDE = 10_000  # columns of output that is not a terminal: in effect, no wrapping


def help_settings() -> dict[str, Any]:
    """Typer settings for ``--help``: rich panels on a terminal; elsewhere click's plain help,
    unwrapped (rich panels would be drawn :data:`WIDE` columns wide)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return {}
    return {
        "rich_markup_mode": None,
        "context_settings": {"max_content_width": WIDE, "terminal_width": WIDE},
    }


class LazyCommand(NamedTuple):
    """Where a command lives: ``module.attribute`` is a command function or a Typer app
    (a group), or with ``factory`` a function returning one; ``summary`` is the first
    paragraph of its help, as ``--help`` lists it."""

    module: str
    attribute: str
    summary: str
    factory: bool = False


class LazyGroup(TyperGroup):
    """A Typer group whose commands from :attr:`lazy` are imported on first use."""

    lazy: Mapping[str, LazyCommand] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        found = self.commands.get(cmd_name)
        spec = self.lazy.get(cmd_name)
        if found is not None or spec is None:
            return found
        if self._listing:  # --help of the root: the name and summary are all it shows
            return TyperCommand(cmd_name, help=spec.summary)
        command = self.commands[cmd_name] = load(cmd_name, spec, self)
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        with self._listed():
            super().format_help(ctx, formatter)

    @contextmanager
    def _listed(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False


def load(name: str, spec: LazyCommand, parent: TyperGroup) -> _click.Command:
    """The click command ``name`` built from ``spec``, as ``app.command()``/``app.add_typer``
    would have built it on ``parent``'s app."""
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    if spec.factory:
        target = target()
    holder = typer.Typer(rich_markup_mode=parent.rich_markup_mode)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, help=spec.summary)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]
