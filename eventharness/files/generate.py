"""``{$generate: SUBJECT, with: {...}}`` in a scenario file: a value made from a schema.

    - publish: {channel: kafka:orders, schema: shop.OrderPlaced,
                value: {$generate: shop.OrderPlaced, with: {order_id: "${order_id}", total: 42}}}

Checked when the file loads (the subject exists; each override that is not a template conforms
to its field), without building the hypothesis strategy: ``validate`` stays fast. Expanded when
the step runs, after its templates are rendered, from the run's seed (so a failing run replays
with ``--seed``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

from eventharness.data.generators import check, from_schema
from eventharness.engine.templates import references
from eventharness.model.errors import ConfigError, UsageError
from eventharness.model.problems import line_of

__all__ = ["KEY", "expand", "generate_problems", "has_generate"]

KEY = "$generate"


def has_generate(value: Any) -> bool:
    if isinstance(value, Mapping):
        return KEY in value or any(has_generate(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_generate(v) for v in value)
    return False


def _spec(value: Mapping[str, Any]) -> tuple[Any, dict[str, Any], str | None]:
    subject, overrides = value[KEY], value.get("with") or {}
    extra = sorted(set(value) - {KEY, "with"})
    if extra:
        return subject, {}, f"{KEY}: unknown key(s) {', '.join(extra)}; it takes with: only"
    if not isinstance(subject, str | Mapping) or not isinstance(overrides, Mapping):
        return subject, {}, f"{KEY}: write {{{KEY}: SUBJECT, with: {{field: value}}}}"
    return subject, dict(overrides), None


def generate_problems(value: Any, schemas: Any, line: int) -> list[tuple[int, str]]:
    """Problems of every ``$generate`` in ``value`` (the line of each where it is known)."""
    found: list[tuple[int, str]] = []
    if isinstance(value, list | tuple):
        for item in value:
            found.extend(generate_problems(item, schemas, line_of(value) or line))
        return found
    if not isinstance(value, Mapping):
        return found
    if KEY not in value:
        for key, item in value.items():
            found.extend(generate_problems(item, schemas, line_of(value, key) or line))
        return found
    here = line_of(value, KEY) or line
    subject, overrides, problem = _spec(value)
    if problem:
        return [(here, problem)]
    if isinstance(subject, str) and schemas is None:
        return [
            (
                here,
                f"{KEY}: {subject!r} cannot be looked up: no schema folder is configured;"
                ' set schemas = "path/to/schemas" in the profile',
            )
        ]
    fixed = {k: v for k, v in overrides.items() if not references(v)}
    try:
        check(schemas.validator(subject) if isinstance(subject, str) else subject, **fixed)
    except (UsageError, ConfigError) as exc:
        return [(here, f"{KEY}: {exc}")]
    return found


def expand(value: Any, validator_of: Callable[[Any], Any], seed: int) -> Any:
    """``value`` with each ``$generate`` replaced by one value drawn for ``seed``."""
    if isinstance(value, list | tuple):
        return [expand(item, validator_of, seed + i) for i, item in enumerate(value)]
    if not isinstance(value, Mapping):
        return value
    if KEY not in value:
        return {
            k: expand(v, validator_of, seed + zlib.crc32(str(k).encode())) for k, v in value.items()
        }
    subject, overrides, _ = _spec(value)
    return from_schema(validator_of(subject), **overrides).example(seed=seed)
