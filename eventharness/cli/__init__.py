"""The ``eventharness`` command line: one module per command group, one error mapper."""

from eventharness.cli.main import app, main

__all__ = ["app", "main"]
