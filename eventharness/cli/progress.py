"""Progress of a long command (``record``, ``replay``) on stderr.

    with Progress() as progress:
        progress.line("recording kafka:orders → shop.jsonl")   # a line that stays
        progress("recording 3.0s/10s: 12 message(s)")          # the current status
        progress.done("recorded 40 message(s) in 10.0s")       # the last line

On a terminal the status is one live line (a rich status, rewritten in place); elsewhere (a
pipe, a CI log) a status is printed as a line at most every ``every`` seconds, so logs stay
short. Lines never wrap and carry no escape codes when stderr is not a terminal.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.status import Status
from rich.text import Text

__all__ = ["Progress"]


class Progress:
    """A status line on stderr; callable with the newest status (an engine ``progress``)."""

    def __init__(self, console: Console | None = None, every: float = 5.0) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.every = every
        self._status: Status | None = None
        self._last = float("-inf")

    def __call__(self, text: str) -> None:
        if self.console.is_terminal:
            if self._status is None:
                self._status = self.console.status(Text(text))
                self._status.start()
            else:
                self._status.update(Text(text))
        elif time.monotonic() - self._last >= self.every:
            self._last = time.monotonic()
            self.line(text)

    def line(self, text: str) -> None:
        """A line that stays (printed above the live status on a terminal)."""
        self.console.print(Text(text), soft_wrap=True)

    def done(self, text: str) -> None:
        """End the live status and print the last line."""
        self.close()
        self.line(text)

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
