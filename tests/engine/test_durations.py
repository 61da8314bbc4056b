"""Durations in the Python API: NaN, infinity and non-positive windows are usage errors that
name the argument and the value; they never hang a scenario."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import eventharness as eh
from eventharness.engine.faults import Delay, Pause, Reorder
from eventharness.engine.stubs import Response
from eventharness.model.durations import check_seconds

BAD = [math.nan, math.inf, -math.inf]


@pytest.fixture
async def h(memory_url: str) -> AsyncIterator[eh.Harness]:
    async with eh.Harness({"k": memory_url}) as harness:
        yield harness


def message(name: str, value: float) -> str:
    return f"{name} must be a positive, finite number of seconds, got {value!r}"


@pytest.mark.parametrize("value", [*BAD, 0, -1])
async def test_windows_of_expectations(h: eh.Harness, value: float) -> None:
    async with h.scenario("bad window") as s:
        with pytest.raises(eh.UsageError) as caught:
            s.expect("k:out", within=value)
        assert str(caught.value) == message("within", value)
        with pytest.raises(eh.UsageError) as caught:
            s.expect_none("k:out", during=value)
        assert str(caught.value) == message("during", value)


@pytest.mark.parametrize("value", BAD)
async def test_waits_of_a_running_scenario(h: eh.Harness, value: float) -> None:
    calls: list[Callable[[eh.Scenario], Any]] = [
        lambda s: s.eventually(lambda: True, within=value),
        lambda s: s.eventually(lambda: True, interval=value),
        lambda s: s.wait(value),
        lambda s: s.first_event("out", within=value),
    ]
    for call in calls:
        async with h.scenario("bad wait") as s:
            s.expect("k:out", within=0.1, at_least=0, name="out")
            with pytest.raises(eh.UsageError, match=r"must be a (positive|non-negative), finite"):
                await call(s)


@pytest.mark.parametrize("value", BAD)
def test_settings_and_faults(memory_url: str, value: float) -> None:
    makers: list[tuple[str, Callable[[], Any]]] = [
        ("within", lambda: eh.Harness({"k": memory_url}, within=value)),
        ("connect_timeout", lambda: eh.Harness({"k": memory_url}, connect_timeout=value)),
        ("cross_broker_slack", lambda: eh.Harness({"k": memory_url}, cross_broker_slack=value)),
        ("within", lambda: eh.Harness({"k": memory_url}).scenario("x", within=value)),
        ("settle", lambda: eh.Harness({"k": memory_url}).scenario("x", settle=value)),
        ("delay", lambda: Delay(value)),
        ("jitter", lambda: Delay(1, jitter=value)),
        ("pause", lambda: Pause(value)),
        ("release_after", lambda: Reorder(release_after=value)),
        ("timeout", lambda: eh.http_get("http://127.0.0.1:1/", timeout=value)),
        ("timeout", lambda: eh.command("true", timeout=value)),
        ("delay", lambda: Response("k:out", delay=value)),
    ]
    for name, make in makers:
        with pytest.raises(eh.UsageError, match=rf"^{name} must be a"):
            make()


def test_one_helper_says_what_is_wrong() -> None:
    assert check_seconds("within", 5) == 5.0
    assert check_seconds("settle", 0, allow_zero=True) == 0.0
    with pytest.raises(eh.UsageError, match=r"^settle must be a non-negative, finite number"):
        check_seconds("settle", math.nan, allow_zero=True)
    with pytest.raises(eh.UsageError, match=r"got '5s'"):
        check_seconds("within", "5s")
    with pytest.raises(eh.UsageError, match=r"got True"):
        check_seconds("within", True)
