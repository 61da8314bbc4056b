"""The correlation conventions real services use: the ``correlation_id`` header (FastStream)
is stamped and read besides ``correlation-id``; extra header names (``X-Correlation-ID``...)
come from the profile or ``Correlation(headers=...)``."""

from __future__ import annotations

from pathlib import Path

import pytest

import eventharness as eh
from eventharness.env.config import load_config
from eventharness.model.errors import ConfigError
from eventharness.model.events import Record


async def _answered_with(memory_url: str, correlation: eh.Correlation | None, name: str) -> bool:
    """A service that answers carrying the scenario's id only in header ``name``."""
    async with eh.Harness({"kafka": memory_url}, within=0.5, correlation=correlation) as h:
        try:
            async with h.scenario("answer", correlation_id="c" * 32) as s:
                s.expect("kafka:answers", type="Answer")
                await s.armed()
                await h.transport("kafka").publish(
                    "answers", Record(b'{"type": "Answer"}', None, {name: b"c" * 32})
                )
        except eh.ScenarioFailed as failed:
            assert [f.kind for f in failed.result.failures] == ["timeout"]
            return False
        return True


async def test_the_faststream_header_is_stamped_and_read(memory_url: str) -> None:
    async with eh.Harness({"kafka": memory_url}) as h, h.scenario("stamp") as s:
        s.expect_none("kafka:nothing", during=0.01)
        sent = await s.publish("kafka:orders", {"type": "OrderPlaced"})
    assert sent.headers["correlation_id"] == sent.headers["correlation-id"] == s.correlation_id
    assert await _answered_with(memory_url, None, "correlation_id")


async def test_extra_header_names_claim_events_only_when_configured(memory_url: str) -> None:
    assert not await _answered_with(memory_url, None, "X-Correlation-ID")
    extra = eh.Correlation(headers=("X-Correlation-ID",))
    assert await _answered_with(memory_url, extra, "X-Correlation-ID")


def test_a_profile_names_extra_headers_and_bad_ones_are_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "eventharness.toml"
    config.write_text(
        '[profiles.default]\nbrokers = { kafka = "memory://x" }\n'
        '[profiles.default.correlation]\nheaders = ["X-Correlation-ID", "ce_correlationid"]\n'
    )
    profile = load_config(config).profile(None)
    assert profile.correlation_headers == ("X-Correlation-ID", "ce_correlationid")
    harness = eh.Harness.from_profile(profile)
    assert harness.correlation.headers == ("X-Correlation-ID", "ce_correlationid")
    config.write_text(
        '[profiles.default]\nbrokers = { kafka = "memory://x" }\n'
        '[profiles.default.correlation]\nheaders = "X-Correlation-ID"\n'
    )
    with pytest.raises(ConfigError, match=r"correlation\.headers: must be a list of header names"):
        load_config(config)
