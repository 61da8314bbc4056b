"""Which URL each broker name means: the profile's, ``--broker`` overrides, and the embedded
Kafka of an environment ``eventharness up`` keeps running.

    overrides = parse_broker_overrides(["kafka=kafka://127.0.0.1:9092"])
    urls = resolve_brokers(profile.brokers, overrides, running_state(state_dir, profile.name))
    [name for name, url in urls.items() if url == EMBEDDED]   # not started yet

``run``, ``doctor``, ``record`` and ``replay`` all resolve names this way, so they agree on what
a profile means. A name still ``embedded`` afterwards has no broker yet: ``run`` starts one,
``doctor`` checks the broker binary, ``record``/``replay`` say how to get a URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from eventharness.env.state import EnvironmentState
from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import ChannelError, ConfigError
from eventharness.transports.base import check_scheme

__all__ = ["EMBEDDED", "parse_broker_overrides", "resolve_brokers"]

EMBEDDED = "embedded"


def parse_broker_overrides(pairs: Iterable[str], where: str = "--broker") -> dict[str, str]:
    """``["kafka=kafka://...", ...]`` → a mapping; errors say how to write one."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise ConfigError(
                f"{where} {pair!r}: write name=URL, e.g. "
                "--broker kafka=kafka://127.0.0.1:9092 (or kafka=embedded)"
            )
        url = url.strip()
        if url != EMBEDDED:
            try:
                check_scheme(parse_broker_url(url))
            except ChannelError as exc:
                raise ConfigError(f"{where} {name.strip()}: {exc}") from exc
        out[name.strip()] = url
    return out


def resolve_brokers(
    profile: Mapping[str, str],
    overrides: Mapping[str, str],
    running: EnvironmentState | None = None,
) -> dict[str, str]:
    """name → URL: the profile's brokers, then the embedded brokers of ``running`` (the
    environment of this profile that ``up`` keeps running, if any), then ``overrides`` — an
    override that says ``embedded`` takes the running one too. A name left ``embedded`` has
    no broker running yet."""
    started = {name: b.url for name, b in running.embedded.items()} if running else {}
    urls = {**profile, **started}
    for name, url in overrides.items():
        urls[name] = started.get(name, url) if url == EMBEDDED else url
    return urls
