"""Which URL each broker name means: the profile's, ``--broker`` overrides, and the embedded
Kafka of an environment ``eventharness up`` keeps running.

    overrides = parse_broker_overrides(["kafka=kafka://127.0.0.1:9092"])
    urls = resolve_brokers(profile.brokers, overrides, running_state(state_dir, profile.name))
    [name for name, url in urls.items() if url == EMBEDDED]   # not started yet

``run``, ``doctor``, ``record`` and ``replay`` all resolve names this way, so they agree on what
a profile means. A name still ``embedded`` afterwards has no broker yet: ``run`` starts one,
``doctor`` checks the broker binary, ``record``/``replay`` say how to get a URL.

    await reach("amqp://guest:guest@127.0.0.1:5672/", 10.0)   # connects, logs in, closes
    check_brokers({"rabbit": url}, 10.0)     # raises the first broker's error (BrokerUnavailable)

``reach`` connects exactly as a run connects (TLS, SASL, credentials as configured): ``doctor``
reports it per broker; ``run`` and ``up`` call ``check_brokers`` before they start embedded
Kafka or a service, so a refused password is the cause, not a service that exited.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

from eventharness.env.state import EnvironmentState
from eventharness.model.channels import BrokerURL, parse_broker_url
from eventharness.model.errors import BrokerUnavailable, ChannelError, ConfigError
from eventharness.transports.base import check_scheme

__all__ = ["EMBEDDED", "check_brokers", "parse_broker_overrides", "reach", "resolve_brokers"]

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


async def reach(url_text: str, connect_timeout: float) -> BrokerURL:
    """Connect to the broker at ``url_text`` with its transport, as a run does, and close.
    Raises the transport's error (:class:`BrokerUnavailable`: the URL without its password,
    the cause, the remedy); an ``OSError`` a third-party transport did not map becomes one."""
    from eventharness.transports.base import make_transport

    url = parse_broker_url(url_text)
    try:
        transport = make_transport(url, connect_timeout=connect_timeout)
        try:
            await transport.connect()
        except BaseException:
            with contextlib.suppress(Exception):
                await transport.aclose()
            raise
        await transport.aclose()
    except OSError as exc:
        raise BrokerUnavailable(f"cannot connect to {url}: {exc}") from exc
    return url


def check_brokers(urls: Mapping[str, str], connect_timeout: float) -> None:
    """Reach every broker of ``urls`` at once (``embedded`` and ``memory://`` ones need no
    check); raise the error of the first, in the order given, that cannot be reached."""
    remote = [url for url in urls.values() if url != EMBEDDED and not url.startswith("memory:")]
    if not remote:
        return

    async def reach_all() -> list[BaseException | BrokerURL]:
        return await asyncio.gather(
            *(reach(url, connect_timeout) for url in remote), return_exceptions=True
        )

    for found in asyncio.run(reach_all()):
        if isinstance(found, BaseException):
            raise found
