"""The correlation rules of scenario files, as the harness takes them: with variables in the
channel names (the mapping's keys) and in the rules substituted like any value.

A file's ``correlation:`` rules apply to the whole run (the harness routes every event by
them), so they are resolved once, before the first scenario: from the environment
(``${env.PREFIX}``, with ``:-`` defaults), the profile's variables and the file's own
``vars``. What a scenario only knows while it runs (``${uuid}`` aside, step values, its
correlation id) cannot name a channel; ``eventharness validate`` reports an unknown name with
its file and line, and so does this when it meets one.

The profile's channel names (the keys of ``channel_schemas`` and of ``correlation``) are
resolved the same way, with the run's variables, so that channels named after the run
(``"kafka:${vars.orders}"``, a profile variable holding ``${run.id}``) can be bound.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from eventharness.engine.templates import Reference, render
from eventharness.env.config import Profile
from eventharness.files.model import ScenarioFile
from eventharness.model.errors import UsageError

__all__ = ["correlation_rules", "profile_channels"]

Resolve = Callable[[Reference], Any]


def _resolver(where: object, values: Mapping[str, Any], what: str, run_id: str = "") -> Resolve:
    def resolve(ref: Reference) -> Any:
        if ref.name == "uuid":
            return uuid.uuid4().hex
        if ref.name == "run.id" and run_id:
            return run_id
        head, _, path = ref.name.partition(".")
        if head == "env":
            found = os.environ.get(path, ref.default)
            if found is None:
                raise UsageError(f"{where}: environment variable {path} is not set")
            return found
        if ref.name in values:
            return values[ref.name]
        if head == "vars" and path in values:
            return values[path]
        if ref.default is not None:
            return ref.default
        raise UsageError(
            f"{where}: ${{{ref.name}}} in {what} is not known before the run "
            "(use ${env.NAME}, a profile variable or one of the file's vars)"
        )

    return resolve


def profile_channels(
    profile: Profile, variables: Mapping[str, Any], *, run_id: str = ""
) -> Profile:
    """The profile with ``${...}`` substituted in the channel names of its schema bindings and
    correlation rules (``${vars.NAME}`` for a profile variable, ``${env.NAME}``,
    ``${run.id}``)."""
    if not any("${" in key for key in (*profile.channel_schemas, *profile.correlation)):
        return profile
    where = f"profile {profile.name!r}"
    resolve = _resolver(where, variables, "a channel name", run_id)

    def key(channel: str, table: str) -> str:
        text = str(render(channel, resolve))
        if "${" in text:
            raise UsageError(f"{where}: {table} channel {channel!r} still holds ${{")
        return text

    return replace(
        profile,
        channel_schemas={key(c, "channel_schemas"): s for c, s in profile.channel_schemas.items()},
        correlation={key(c, "correlation"): r for c, r in profile.correlation.items()},
    )


def correlation_rules(
    files: Iterable[ScenarioFile], variables: Mapping[str, Any]
) -> dict[str, str]:
    """Every file's rules, channel → rule, with ``${...}`` substituted in keys and values."""
    rules: dict[str, str] = {}
    for file in files:
        if not file.correlation:
            continue
        values: dict[str, Any] = dict(variables)
        resolve = _resolver(file.path, values, "a correlation rule")
        for name, raw in file.vars.items():
            values[name] = render(raw, resolve)
        for channel, rule in file.correlation.items():
            line = file.lines.get(f"correlation.{channel}", 0)
            key, value = str(render(channel, resolve)), str(render(rule, resolve))
            if "${" in key or "${" in value:
                raise UsageError(f"{file.path}:{line}: correlation: {channel!r} still holds ${{")
            rules[key] = value
    return rules
