"""Realistic values from Faker: ``${fake.name}``, ``${fake.iban}``, ``${fake.email}``...

    values = FakeValues(seed=7)
    values["name"], values["iban"]   # a new value on every read; the same ones for seed 7
    provider_problem("nmae")         # "unknown Faker provider 'nmae' (did you mean 'name'?)..."
    fake_strategy("email")           # a hypothesis strategy (property-based scenarios)

A *provider* is any Faker method that needs no argument (``name``, ``iban``, ``email``,
``uuid4``, ``date_of_birth``, ``pyint``...; locale ``en_US``). Values that JSON cannot carry are
written as JSON would want them: dates and times in ISO 8601, decimals as floats, bytes as
text (hex). Faker is imported on first use only: a run that names no ``fake.`` value never
pays for it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import inspect
import re
import uuid
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from eventharness.model.errors import MissingDependency
from eventharness.model.problems import closest

__all__ = [
    "HEAD",
    "FakeValues",
    "fake_strategy",
    "faker_name",
    "plain",
    "provider_problem",
    "providers",
]

#: The head of a Faker reference: ``${fake.NAME}``.
HEAD = "fake"
_NOT_PROVIDERS = frozenset(
    {"add_provider", "format", "get_formatter", "get_providers", "parse", "provider", "seed"}
    | {"seed_instance", "seed_locale", "set_arguments", "set_formatter", "del_arguments"}
    | {"get_arguments", "random", "generator", "locale", "language_code"}
)


_WHOLE = re.compile(r"\$\{fake\.([A-Za-z0-9_]*)\}")


def faker_name(value: Any) -> str | None:
    """``"name"`` for a value that is exactly ``"${fake.name}"``; None for anything else."""
    found = _WHOLE.fullmatch(value) if isinstance(value, str) else None
    return found.group(1) if found else None


def _faker(seed: int | None = None) -> Any:
    try:
        from faker import Faker
    except ImportError as exc:  # pragma: no cover - installed with [data] and [dev]
        raise MissingDependency("${fake.*} values", "Faker", "data") from exc
    made = Faker("en_US")
    if seed is not None:
        made.seed_instance(seed)
    return made


def _takes_no_argument(method: Any) -> bool:
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in params
    )


@cache
def providers() -> tuple[str, ...]:
    """The names ``${fake.NAME}`` accepts, sorted."""
    made = _faker()
    found: set[str] = set()
    for provider in made.providers:
        for name in dir(provider):
            if name.startswith("_") or name in _NOT_PROVIDERS:
                continue
            method = getattr(provider, name, None)
            if callable(method) and _takes_no_argument(method):
                found.add(name)
    return tuple(sorted(found))


def provider_problem(name: str) -> str | None:
    """Why ``${fake.<name>}`` cannot be drawn, or None."""
    if not name:
        return "name a Faker provider, e.g. ${fake.name}, ${fake.email}, ${fake.iban}"
    try:
        known = providers()
    except MissingDependency as exc:  # the line of the file that needs it, and the install line
        return str(exc)
    if name in known:
        return None
    near = closest(name, known)
    hint = f" (did you mean {near!r}?)" if near else ""
    return (
        f"unknown Faker provider {name!r}{hint}; write ${{fake.NAME}} with a Faker provider "
        "that takes no argument, e.g. name, email, iban, uuid4, date_of_birth"
    )


def plain(value: Any) -> Any:
    """``value`` as JSON carries it (dates in ISO 8601, decimals as floats, bytes as hex)."""
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


class FakeValues(Mapping[str, Any]):
    """The ``fake`` variable of a run: ``values["name"]`` is a new name on every read, drawn
    from a Faker seeded with ``seed`` (the same reads give the same values for the same seed).
    Faker is created on the first read."""

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self._faker: Any = None

    def __contains__(self, name: object) -> bool:  # without drawing a value
        return isinstance(name, str) and name in providers()

    def __getitem__(self, name: str) -> Any:
        problem = provider_problem(name)
        if problem is not None:
            raise KeyError(problem)
        if self._faker is None:
            self._faker = _faker(self.seed)
        return plain(getattr(self._faker, name)())

    def __iter__(self) -> Iterator[str]:
        return iter(providers())

    def __len__(self) -> int:
        return len(providers())

    def __repr__(self) -> str:
        return f"FakeValues(seed={self.seed})"


def fake_strategy(name: str) -> Any:
    """A hypothesis strategy of ``${fake.<name>}`` values: a Faker seed is drawn, so hypothesis
    shrinks toward the value of seed 0."""
    from hypothesis import strategies as st

    problem = provider_problem(name)
    if problem is not None:
        raise KeyError(problem)
    return st.integers(min_value=0, max_value=2**32 - 1).map(lambda seed: FakeValues(seed)[name])
