"""The ``${...}`` variables of a profile: what each may name, and what is wrong with one.

Values of ``vars``, ``env``, ``command``, ``cwd``, ``ready`` and ``cleanup`` may use, resolved when
the environment starts (:meth:`eventharness.env.environment.Environment.resolve`):

=========================== ===============================================================
``${run.id}``               a short id unique to this environment (use it in names)
``${port.NAME}``            a free TCP port, the same one everywhere NAME is used
``${brokers.NAME}``         the broker's URL (with its password: for the services only)
``${brokers.NAME.bootstrap}`` ``host:port[,host:port]`` of a Kafka/AMQP broker
``${vars.NAME}``            a profile variable
``${env.NAME}``             an environment variable (``${env.NAME:-default}``)
``${python}`` ``${root}``   the running Python interpreter; the folder of the config file
``${otlp}``                 the URL of the run's span receiver (OTLP/HTTP), for services'
                            ``OTEL_EXPORTER_OTLP_ENDPOINT``; under ``up``, a port each
                            ``run --no-up`` listens on (:func:`receives_spans`)
=========================== ===============================================================

:func:`reference_problem` checks one when the configuration is read, so a typo is an error
naming the key before anything starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Set
from typing import Any

from eventharness.engine.templates import Reference, references
from eventharness.model.problems import closest

__all__ = ["NAMESPACES", "places_problem", "receives_spans", "reference_problem"]

NAMESPACES = ("run", "port", "brokers", "vars", "env", "python", "root", "otlp")


def _did_you_mean(head: str) -> str:
    found = closest(head, NAMESPACES)
    return f" (did you mean {found!r}?)" if found else ""


def reference_problem(
    ref: Reference,
    *,
    where: str,
    brokers: Mapping[str, str],
    variables: Mapping[str, str],
    in_vars: bool = False,
    seen_vars: Set[str] = frozenset(),
) -> str | None:
    """What is wrong with ``ref`` in the profile at ``where`` (``profiles.NAME``) with these
    brokers and variables, None when it names something that will exist. ``in_vars``: it is
    in a variable's value, where only the variables above (``seen_vars``) may be used."""
    if ref.problem:
        return ref.problem
    head, parts, text = ref.head, ref.name.split("."), f"${{{ref.text}}}"
    if head not in NAMESPACES:
        return (
            f"{text} is not known{_did_you_mean(head)}; use ${{run.id}}, "
            "${port.NAME}, ${brokers.NAME}, ${brokers.NAME.bootstrap}, ${vars.NAME}, "
            "${env.NAME}, ${python}, ${root} or ${otlp}"
        )
    if head == "otlp" and len(parts) != 1:
        return f"{text}: write ${{otlp}} (the span receiver's URL)"
    if head == "brokers":
        if len(parts) < 2 or parts[1] not in brokers:
            return (
                f"{text}: no broker {'.'.join(parts[1:2])!r} in this profile "
                f"(brokers: {', '.join(brokers) or 'none'})"
            )
        if len(parts) > 2 and (len(parts) > 3 or parts[2] != "bootstrap"):
            return f"{text}: use ${{brokers.NAME}} or ${{brokers.NAME.bootstrap}}"
    if head == "vars":
        if len(parts) != 2 or parts[1] not in variables:
            return f"{text}: no variable {'.'.join(parts[1:])!r} in [{where}.vars]"
        if in_vars and parts[1] not in seen_vars:
            return f"{text}: a variable can only use the variables above it"
    if head in ("run", "port") and len(parts) != 2:
        return f"{text}: write ${{run.id}} or ${{port.NAME}}"
    if head == "env":
        if len(parts) < 2:
            return f"{text}: write ${{env.NAME}} or ${{env.NAME:-default}}"
        name = ref.name[4:]
        if ref.default is None and name not in os.environ:
            return (
                f"{text}: environment variable {name} is not set; set it or give a "
                f"default: ${{env.{name}:-value}}"
            )
    return None


def places_problem(
    places: Iterable[tuple[str, Any]],
    *,
    where: str,
    brokers: Mapping[str, str],
    variables: Mapping[str, str],
) -> tuple[str, str] | None:
    """The first (key, problem) of the ``${...}`` in ``places`` ((key, value) pairs of the
    profile at ``where``, its variables first and in order), None when all are fine."""
    seen_vars: set[str] = set()
    for key, value in places:
        in_vars = key.startswith(f"{where}.vars.")
        for ref in references(value):
            problem = reference_problem(
                ref,
                where=where,
                brokers=brokers,
                variables=variables,
                in_vars=in_vars,
                seen_vars=seen_vars,
            )
            if problem:
                return key, problem
        if in_vars:
            seen_vars.add(key.rsplit(".", 1)[1])
    return None


def receives_spans(env: Mapping[str, Any], services: Iterable[tuple[Any, Any]]) -> bool:
    """Does a profile hand ``${otlp}`` to its services (``env``; each service's env and
    command)? A run of it then listens for their spans."""
    return "${otlp}" in repr([dict(env), *services])
