"""The correlation rules of scenario files, as the harness takes them: with variables in the
channel names (the mapping's keys) and in the rules substituted like any value.

A file's ``correlation:`` rules apply to the whole run (the harness routes every event by
them), so they are resolved once, before the first scenario: from the environment
(``${env.PREFIX}``, with ``:-`` defaults), the profile's variables and the file's own
``vars``. What a scenario only knows while it runs (``${uuid}`` aside, step values, its
correlation id) cannot name a channel; ``eventharness validate`` reports an unknown name with
its file and line, and so does this when it meets one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from eventharness.engine.templates import Reference, render
from eventharness.files.model import ScenarioFile
from eventharness.model.errors import UsageError

__all__ = ["correlation_rules"]


def correlation_rules(
    files: Iterable[ScenarioFile], variables: Mapping[str, Any]
) -> dict[str, str]:
    """Every file's rules, channel → rule, with ``${...}`` substituted in keys and values."""
    rules: dict[str, str] = {}
    for file in files:
        if not file.correlation:
            continue
        values: dict[str, Any] = dict(variables)

        def resolve(
            ref: Reference, file: ScenarioFile = file, values: dict[str, Any] = values
        ) -> Any:
            if ref.name == "uuid":
                return uuid.uuid4().hex
            head, _, path = ref.name.partition(".")
            if head == "env":
                found = os.environ.get(path, ref.default)
                if found is None:
                    raise UsageError(f"{file.path}: environment variable {path} is not set")
                return found
            if ref.name in values:
                return values[ref.name]
            if ref.default is not None:
                return ref.default
            raise UsageError(
                f"{file.path}: ${{{ref.name}}} in a correlation rule is not known before the "
                "run (use ${env.NAME}, a profile variable or one of the file's vars)"
            )

        for name, raw in file.vars.items():
            values[name] = render(raw, resolve)
        for channel, rule in file.correlation.items():
            line = file.lines.get(f"correlation.{channel}", 0)
            key, value = str(render(channel, resolve)), str(render(rule, resolve))
            if "${" in key or "${" in value:
                raise UsageError(f"{file.path}:{line}: correlation: {channel!r} still holds ${{")
            rules[key] = value
    return rules
