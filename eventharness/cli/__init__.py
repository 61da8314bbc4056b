"""The ``eventharness`` command line: one module per command group, one error mapper."""

from eventharness.cli.app import app, main

__all__ = ["app", "main"]
