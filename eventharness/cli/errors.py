"""The one place errors become what a user reads, and exit codes (DESIGN §7).

    with friendly():                 # any eventharness error → "error: <cause>", exit 2
        ...
    fail("no scenario matches -k 'x'")      # the same, for a cause the CLI found itself

Exit codes: 0 all passed · 1 a scenario failed (:data:`FAILED`) · 2 a usage, config or
connection error (:data:`ERROR`): nothing ran, or it could not run · 130 interrupted by Ctrl-C
(:data:`INTERRUPTED`, 128 + SIGINT as shells report it; what ran is still reported).

The cause is one line with its remedy (a list of problems in scenario files, or a service's log
tail, may add lines), on stderr, passwords in URLs redacted — never a traceback.

========================================== =====  ===========================================
error                                      exit   printed
========================================== =====  ===========================================
``ScenarioFailed``                         1      its explanation
``BrokerUnavailable``                      2      its first line (URL, cause and remedy)
``ScenarioFileError``, ``ConfigError``,    2      the message as it is (every problem, with
``UsageError``, ``MissingDependency``,            file:line; the install line; the log tail)
any other ``EventHarnessError``
``OSError`` (a file that cannot be          2      the operating system's message
written, ...)
========================================== =====  ===========================================
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn

import typer
from rich.console import Console
from rich.text import Text

from eventharness.model.channels import redact
from eventharness.model.errors import BrokerUnavailable, EventHarnessError, ScenarioFailed

__all__ = ["ERROR", "FAILED", "INTERRUPTED", "OK", "errors", "fail", "friendly", "message_of"]

OK, FAILED, ERROR, INTERRUPTED = 0, 1, 2, 130
errors = Console(stderr=True, highlight=False)


def message_of(exc: BaseException) -> str:
    """What to print for ``exc``: a broker that cannot be reached is one line; other errors
    keep their lines (lists of problems, log tails)."""
    text = str(exc)
    if isinstance(exc, BrokerUnavailable) and "\n" in text:
        return text.splitlines()[0]
    return text


def fail(message: str, code: int = ERROR) -> NoReturn:
    """Print the cause (and remedy) on stderr and exit with ``code``."""
    errors.print(Text(f"error: {redact(message)}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def friendly() -> Iterator[None]:
    """Turn eventharness errors (and OS errors) into a printed cause and an exit code."""
    try:
        yield
    except ScenarioFailed as exc:
        fail(message_of(exc), FAILED)
    except EventHarnessError as exc:
        fail(message_of(exc))
    except OSError as exc:
        fail(str(exc) or type(exc).__name__)
