"""The checks of the setup and teardown actions: their own keys, their references, their
channels and schema subjects.
"""

from __future__ import annotations

from eventharness.files.check_base import CheckBase
from eventharness.files.lifecycle import action_problems
from eventharness.files.lifecycle_actions import (
    HttpAction,
    LifecycleAction,
    PublishAction,
    SqlAction,
)

__all__ = [
    "LifecycleChecks",
]


class LifecycleChecks(CheckBase):
    """The checks of ``setup:`` and ``teardown:`` actions."""

    def action(self, action: LifecycleAction, phase: str) -> None:
        """A setup/teardown action: its references, its channel, its own keys."""
        for line, problem in action_problems(action, phase):
            self.add(line, problem)
        match action:
            case SqlAction():
                self.refs([action.url, list(action.run)], action.line, steps=False)
            case HttpAction():
                self.refs([action.url, action.json, action.headers], action.line, steps=False)
            case PublishAction():
                self.channel(action.channel, action.at("channel"), f"{phase}.publish")
                self.refs([action.value, action.key, action.headers], action.line, steps=False)
                self.schema(action.schema, action.at("schema"))
