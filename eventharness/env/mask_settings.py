"""A profile's ``mask`` list: the payload paths masked in recordings and reports
(:mod:`eventharness.engine.masking`), each checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventharness.engine.masking import mask_problem
from eventharness.model.errors import ConfigError

__all__ = ["mask_settings"]


def mask_settings(raw: Any, where: str, fail: Callable[[str, str], ConfigError]) -> tuple[str, ...]:
    """The payload paths of ``raw`` (the profile's ``mask``, ``[]`` when absent); ``fail``
    makes the error for a key and what is wrong with it."""
    if not isinstance(raw, list):
        raise fail(f"{where}.mask", 'must be a list of paths, e.g. ["value.card.number"]')
    for path in raw:
        problem = mask_problem(path)
        if problem is not None:
            raise fail(f"{where}.mask", problem)
    return tuple(raw)
