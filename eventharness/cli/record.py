"""``eventharness record``, ``replay`` and ``mask``: the commands over
:mod:`eventharness.engine.recording`.

    eventharness record -c kafka:orders -c 'rabbit:shipping/#' --duration 10s -o shop.jsonl
    eventharness replay shop.jsonl --speed max
    eventharness mask shop.jsonl --mask value.email -o shared.jsonl

Broker names resolve as for ``run`` (:meth:`eventharness.cli.setup.Setup.brokers`): the
profile's URLs, ``--broker`` over them, and the embedded Kafka of a running ``up``; an
``embedded`` broker with no environment up is an error saying how to get a URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from eventharness.cli.errors import friendly
from eventharness.cli.progress import Progress
from eventharness.cli.setup import (
    ConfigOption,
    ProfileOption,
    StateOption,
    make_setup,
    quiet_clients,
)
from eventharness.env.brokers import EMBEDDED
from eventharness.model.channels import parse_channel
from eventharness.model.errors import UsageError
from eventharness.transports.base import Transport, make_transport

__all__ = ["broker_urls", "mask_command", "record_command", "replay_command"]

T = TypeVar("T")

RecordBrokerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--broker",
        "-b",
        help="name=URL of a broker the channels name (repeatable); default: the profile's brokers.",
    ),
]


def record_command(
    channel: Annotated[
        list[str],
        typer.Option(
            "--channel",
            "-c",
            help="Channel to record, e.g. kafka:orders or 'rabbit:shipping/#' (repeatable).",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines file to write.")],
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", help="How long to record: 10s, 2m.")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", "-n", min=1, help="Stop after this many messages.")
    ] = None,
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            metavar="PATH",
            help="Mask this payload field, keeping its shape, e.g. value.card.number, "
            "headers.x-token, key (repeatable; config: mask).",
        ),
    ] = None,
    broker: RecordBrokerOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Record what a running system emits (secret-looking headers redacted, --mask fields
    masked)."""
    from eventharness.engine.masking import Mask
    from eventharness.engine.recording import record
    from eventharness.engine.templates import parse_duration

    quiet_clients(False)
    with friendly(), Progress() as progress:
        masking = Mask([*make_setup(config, profile, broker).profile(None).mask, *(mask or [])])
        seconds = None
        if duration is not None:
            try:
                seconds = parse_duration(duration)
            except ValueError as exc:
                raise UsageError(f"--duration: {exc}") from exc
        urls, timeout = broker_urls(broker, profile, config, state_dir, channel)
        found = asyncio.run(
            _with_transports(
                urls,
                timeout,
                lambda ts: record(
                    ts,
                    channel,
                    duration=seconds,
                    count=count,
                    progress=progress,
                    armed=lambda: progress.line(f"recording {', '.join(channel)} → {output}"),
                ),
            )
        )
        found.masked(masking).save(output)
        progress.done(f"recorded {len(found)} message(s) in {found.duration:.1f}s to {output}")


def replay_command(
    recording: Annotated[Path, typer.Argument(help="A file written by `record`.")],
    speed: Annotated[
        str, typer.Option("--speed", "-s", help="1 (as recorded), N (N times faster) or max.")
    ] = "1",
    only: Annotated[
        list[str] | None,
        typer.Option("--channel", "-c", help="Replay only these channels (repeatable)."),
    ] = None,
    broker: RecordBrokerOption = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Publish a recording again, as a load: at its pace, N times faster or at full speed."""
    from eventharness.engine.recording import Recording, replay

    quiet_clients(False)
    with friendly(), Progress() as progress:
        factor: float | None
        if speed == "max":
            factor = None
        else:
            try:
                factor = float(speed)
            except ValueError:
                factor = -1.0
            if factor <= 0:
                raise UsageError(f"--speed {speed!r}: write 1, a factor like 10, or max")
        loaded = Recording.load(recording)
        if only:
            loaded = Recording([i for i in loaded if i.channel in only or i.seen_on in only])
        urls, timeout = broker_urls(broker, profile, config, state_dir, loaded.channels())
        began = time.monotonic()
        sent = asyncio.run(
            _with_transports(
                urls, timeout, lambda ts: replay(ts, loaded, speed=factor, progress=progress)
            )
        )
        progress.done(f"replayed {sent} message(s) in {time.monotonic() - began:.1f}s")


def mask_command(
    recording: Annotated[Path, typer.Argument(help="A file written by `record`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines file to write.")],
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            metavar="PATH",
            help="Payload field to mask, keeping its shape, e.g. value.card.number, "
            "headers.x-token, key (repeatable; config: mask).",
        ),
    ] = None,
    profile: ProfileOption = None,
    config: ConfigOption = None,
) -> None:
    """Mask payload fields of a recording (to share it): the profile's mask and --mask."""
    from eventharness.engine.masking import Mask
    from eventharness.engine.recording import Recording

    with friendly():
        masking = Mask([*make_setup(config, profile, None).profile(None).mask, *(mask or [])])
        if not masking:
            raise UsageError(
                "nothing to mask: give --mask PATH (e.g. --mask value.card.number) or set "
                "mask = [...] in the profile"
            )
        loaded = Recording.load(recording)
        loaded.masked(masking).save(output)
        typer.echo(f"masked {', '.join(masking.paths)} in {len(loaded)} message(s) → {output}")


def broker_urls(
    pairs: list[str] | None,
    profile: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    channels: Iterable[str],
) -> tuple[dict[str, str], float]:
    """URLs of the brokers ``channels`` name, resolved as ``run`` resolves them, and the
    profile's connect timeout."""
    setup = make_setup(config_path, profile, pairs)
    chosen_profile = setup.profile(None)
    urls = setup.brokers(chosen_profile, setup.running(chosen_profile, state_dir))
    needed = {parse_channel(c).broker for c in channels}
    chosen = {}
    for name in sorted(needed):
        url = urls.get(name)
        if url is None or url == EMBEDDED:
            why = "is the embedded Kafka" if url == EMBEDDED else "is not configured"
            raise UsageError(
                f"broker {name!r} {why}; give its URL with --broker "
                f"{name}=URL (`eventharness status` shows a running embedded one)"
            )
        chosen[name] = url
    return chosen, chosen_profile.connect_timeout


async def _with_transports(
    urls: Mapping[str, str],
    connect_timeout: float,
    work: Callable[[dict[str, Transport]], Awaitable[T]],
) -> T:
    """Connect a transport per URL (as a harness does), do ``work``, close them."""
    transports = {
        name: make_transport(url, connect_timeout=connect_timeout) for name, url in urls.items()
    }
    try:
        await asyncio.gather(*(t.connect() for t in transports.values()))
        return await work(transports)
    finally:
        for transport in transports.values():
            with contextlib.suppress(Exception):
                await transport.aclose()
