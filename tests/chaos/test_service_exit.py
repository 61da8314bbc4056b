"""A service of the profile that exits mid-run: the scenarios running then fail with kind
``error`` naming it, its exit code (137 for SIGKILL) and the last lines of its log; later ones
are not run until it is back; with ``restart = "on-failure"`` the environment starts it again
and the next scenario passes. Real processes, started by the environment from a profile."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import eventharness as eh
from eventharness.env.config import load_config
from eventharness.env.environment import Environment

SERVICE = """\
import signal
print("payments: charging cards", flush=True)
print("payments ready", flush=True)
signal.pause()  # runs until it is killed
"""


def _environment(tmp_path: Path, restart: str) -> Environment:
    (tmp_path / "payments.py").write_text(SERVICE)
    (tmp_path / "eventharness.toml").write_text(
        f"""
[profiles.default]
brokers = {{ b = "memory://" }}

[profiles.default.services.payments]
command = "${{python}} payments.py"
ready = {{ log = "payments ready" }}
restart = "{restart}"
"""
    )
    config = load_config(tmp_path / "eventharness.toml")
    return Environment(config, config.profile(None), state_dir=tmp_path / ".eventharness")


@pytest.fixture
def environment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Environment]:
    env = _environment(tmp_path, getattr(request, "param", "no"))
    env.start()
    try:
        yield env
    finally:
        env.stop()


def _watch(env: Environment, h: eh.Harness) -> asyncio.Event:
    """Report the environment's incidents to ``h``; the event is set when a service is back."""
    back = asyncio.Event()
    loop = asyncio.get_running_loop()

    def resolve(source: str) -> None:
        h.incidents.resolve_threadsafe(source)
        loop.call_soon_threadsafe(back.set)

    env.watch(
        lambda source, message, details, standing: h.incidents.report_threadsafe(
            source, message, details=details, standing=standing
        ),
        resolve,
    )
    return back


async def _killed_mid_scenario(env: Environment, h: eh.Harness) -> eh.ScenarioResult:
    with pytest.raises(eh.ScenarioFailed) as failed:
        async with h.scenario("payment of an order", within=60) as s:
            s.expect("b:payments", type="PaymentAuthorized")
            await s.publish("b:orders", {"type": "OrderPlaced"})
            os.kill(env.services["payments"].pid, signal.SIGKILL)
    return failed.value.result


async def test_a_killed_service_fails_the_running_scenario_and_later_ones_are_not_run(
    environment: Environment,
) -> None:
    async with eh.Harness({"b": "memory://"}) as h:
        _watch(environment, h)
        result = await _killed_mid_scenario(environment, h)
        assert result.status == "error", result.failures
        failure = result.failures[0]
        assert failure.step == "service 'payments'"
        assert failure.message.startswith("service 'payments' exited with code 137 at t=")
        assert failure.message.endswith("during this scenario")
        assert any("payments: charging cards" in line for line in failure.details)
        assert result.duration_s < 30  # failed at once, not at the end of its window
        with pytest.raises(eh.ScenarioFailed) as later:
            async with h.scenario("the next order", within=60) as s:
                s.expect("b:payments", type="PaymentAuthorized")
        assert later.value.result.status == "error"
        assert later.value.result.failures[0].message.startswith(
            "not run: service 'payments' exited with code 137"
        )


@pytest.mark.parametrize("environment", ["on-failure"], indirect=True)
async def test_a_service_with_restart_on_failure_is_started_again(
    environment: Environment,
) -> None:
    first_pid = environment.services["payments"].pid
    async with eh.Harness({"b": "memory://"}) as h:
        back = _watch(environment, h)
        result = await _killed_mid_scenario(environment, h)
        assert result.status == "error"
        assert "restarting it" in result.failures[0].message
        await back.wait()
        assert environment.services["payments"].pid != first_pid
        assert environment.services["payments"].exited is None
        async with h.scenario("after the restart", within=60) as s:
            s.expect("b:orders", type="OrderPlaced")
            await s.publish("b:orders", {"type": "OrderPlaced"})
        assert s.result is not None and s.result.passed
