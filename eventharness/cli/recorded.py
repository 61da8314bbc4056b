"""``--run PATH`` of ``asyncapi check``, ``asyncapi export`` and ``map``: run the scenarios as
``eventharness run PATH --record FILE`` would (the profile's environment up, the scenarios,
everything stopped again), and hand over what they sent and received as a recording.

The run's own output (progress, failures, summary) goes to stderr, so that a command writing
its result to stdout (``map``, ``export``) keeps it clean.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from eventharness.cli.errors import FAILED, OK
from eventharness.cli.setup import console

if TYPE_CHECKING:
    from eventharness.engine.recordfile import Recording

__all__ = ["recorded_run"]


def recorded_run(
    paths: Sequence[Path], *, profile: str | None, config: Path | None
) -> tuple[Recording, bool]:
    """The recording of a run of ``paths``, and whether every scenario passed. A run that
    could not be done (exit 2, Ctrl-C) ends the command with the run's exit code."""
    from eventharness.cli.run import run
    from eventharness.engine.recordfile import Recording

    with tempfile.TemporaryDirectory(prefix="eventharness-run-") as folder:
        target = Path(folder) / "run.jsonl"
        was_stderr, console.stderr = console.stderr, True
        try:
            run(paths=list(paths), profile=profile, config=config, record=target)
            code = OK
        except typer.Exit as exc:
            code = exc.exit_code
        finally:
            console.stderr = was_stderr
        if code not in (OK, FAILED) or not target.exists():
            raise typer.Exit(code)  # the run said why on stderr
        return Recording.load(target), code == OK
