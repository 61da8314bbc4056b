"""The environment of a profile: its embedded brokers and the services of the system under test.

    env = Environment(config, profile, state_dir=Path(".eventharness"))
    env.start()          # check the brokers, embedded Kafka, then every service; waits until ready
    ...                  # env.brokers (name → URL), env.variables (the profile's vars)
    env.stop()           # SIGTERM to each process group it started, SIGKILL after a grace period

Before it starts anything, ``start`` connects to each configured (non-embedded) broker the run
or a service needs (:func:`~eventharness.env.brokers.check_brokers`): a broker that is down or
refuses the credentials is the error, not the service that could not use it.
Each service is a :class:`~eventharness.env.services.ServiceProcess` (its readiness check and
log); a service that exits or never gets ready fails the start with the tail of its log, and
everything already started is stopped. ``env.state()`` is what ``eventharness up`` records
(:mod:`eventharness.env.state`); the long-lived process of ``up`` is
:mod:`eventharness.env.supervisor`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import shlex
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from eventharness.engine.templates import Reference, references, render
from eventharness.env.brokers import EMBEDDED, check_brokers
from eventharness.env.config import Config, Profile, Readiness, ServiceConfig
from eventharness.env.processes import process_start
from eventharness.env.proxy import ProxyThread, TcpProxy
from eventharness.env.readiness import free_port
from eventharness.env.services import ServiceError, ServiceProcess, tail
from eventharness.env.state import EmbeddedRecord, EnvironmentState, ServiceRecord
from eventharness.model.channels import parse_broker_url, parse_channel, redact
from eventharness.model.errors import EventHarnessError, UsageError

__all__ = ["Environment", "Log", "ProxyNetwork", "Report"]

Log = Callable[[str], None]
Report = Callable[[str, str, tuple[str, ...], bool], None]  # source, message, details, standing


def _ignore(_: str) -> None:
    return None


def _ignore_report(source: str, message: str, details: tuple[str, ...], standing: bool) -> None:
    return None


# --- the environment -----------------------------------------------------------------------


class Environment:
    """What a profile needs running: embedded brokers and services. Stops only what it started."""

    def __init__(
        self,
        config: Config,
        profile: Profile,
        *,
        brokers: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        start_services: bool = True,
        run_id: str | None = None,
        needed: Collection[str] | None = None,
        connect_timeout: float | None = None,
        log: Log = _ignore,
        otlp: str | None = None,
    ) -> None:
        """``needed``: the broker names the run uses (default: all of the profile's); they and
        the brokers of the services to start are checked before anything starts, each within
        ``connect_timeout`` seconds (default: the profile's)."""
        self.config = config
        self.profile = profile
        self.wanted = {**profile.brokers, **(brokers or {})}
        self.state_dir = (state_dir or config.root / ".eventharness").resolve()
        self.start_services = start_services
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.log = log
        self.needed = set(self.wanted if needed is None else needed)
        self.connect_timeout = connect_timeout or profile.connect_timeout
        self.brokers: dict[str, str] = {}
        self.embedded: dict[str, Any] = {}
        self.services: dict[str, ServiceProcess] = {}
        self.skipped: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        self.otlp = otlp  # ${otlp}: the run's span receiver, when one runs
        self._ports: dict[str, int] = {}
        self._stopped = False
        self.proxies: dict[tuple[str, str], ProxyThread] = {}
        self._restart_lock = threading.Lock()
        self._restarts: dict[str, int] = {}
        self._report: Report = _ignore_report
        self._resolve: Callable[[str], None] = _ignore

    # -- templates -------------------------------------------------------------------------

    def resolve(self, ref: Reference) -> Any:
        parts = ref.name.split(".")
        head = parts[0]
        if head == "run":
            return self.run_id
        if head == "port":
            return self._ports.setdefault(parts[1], free_port())
        if head == "brokers":
            url = self.brokers.get(parts[1]) or self.wanted.get(parts[1], "")
            if url == EMBEDDED:
                raise ServiceError(f"broker {parts[1]!r} is embedded and not started yet")
            if len(parts) > 2:
                return parse_broker_url(url).bootstrap
            return url
        if head == "vars":
            return self.variables[parts[1]]
        if head == "env":
            return os.environ.get(ref.name[4:], ref.default if ref.default is not None else "")
        if head == "python":
            return sys.executable
        if head == "root":
            return str(self.config.root)
        if head == "otlp":
            return self.otlp or ""
        raise UsageError(f"unknown variable ${{{ref.text}}}")

    def render(self, value: Any) -> Any:
        return render(value, self.resolve)

    # -- starting --------------------------------------------------------------------------

    def start(self) -> None:
        """Start embedded brokers, then every service at once; wait until all are ready.
        On any failure, stop what was started and raise ServiceError."""
        try:
            self._check_brokers()
            self._start_brokers()
            for name, value in self.profile.vars.items():
                self.variables[name] = str(self.render(value))
            self._start_services()
        except BaseException:
            self.stop()
            raise

    def _check_brokers(self) -> None:
        """Connect to the configured brokers the run and its services need, when something is
        about to be started (with nothing to start, the run's own connect says the same)."""
        services = [s for s in self.profile.services.values() if self._skip_reason(s) is None]
        if not services and EMBEDDED not in self.wanted.values():
            return
        names = set(self.needed).union(*(self._brokers_of(s) for s in services))
        urls = {n: url for n, url in self.wanted.items() if n in names and url != EMBEDDED}
        if urls:
            self.log(f"checking broker(s) {', '.join(urls)}")
            check_brokers(urls, self.connect_timeout)

    def _start_brokers(self) -> None:
        for name, url in self.wanted.items():
            if url != EMBEDDED:
                self.brokers[name] = url
                continue
            from eventharness.env.embedded import EmbeddedKafka

            self.log(f"starting embedded Kafka for broker {name!r}")
            log_path = self.state_dir / "logs" / f"{name}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            kafka = EmbeddedKafka(log_path=log_path)
            self.embedded[name] = kafka
            try:
                self.brokers[name] = kafka.start()
            except EventHarnessError as exc:
                raise ServiceError(str(exc)) from exc

    def _start_services(self) -> None:
        for svc in self.profile.services.values():
            reason = self._skip_reason(svc)
            if reason:
                self.skipped[svc.name] = reason
                continue
            self.services[svc.name] = self._launch(svc, f"{svc.name}.log")
        for service in self.services.values():
            service.wait_ready()
            self.log(
                f"service {service.name!r} ready (pid {service.pid}, "
                f"{time.monotonic() - service.started:.1f}s)"
            )

    def _launch(self, svc: ServiceConfig, log_name: str) -> ServiceProcess:
        def resolve(ref: Reference) -> Any:
            parts = ref.name.split(".")
            if svc.proxy and parts[0] == "brokers" and len(parts) > 1:
                url = parse_broker_url(self.resolve(Reference(f"brokers.{parts[1]}")))
                if url.scheme != "memory":  # its URL, or its bootstrap, leads to the proxy
                    proxy = self._proxy(svc.name, parts[1]).proxy
                    if len(parts) > 2:
                        return proxy.bootstrap
                    return dataclasses.replace(url, hosts=(proxy.address,)).secret()
            return self.resolve(ref)

        def rendered(value: Any) -> Any:
            return render(value, resolve)

        argv = [str(a) for a in rendered(svc.command)]
        cwd = Path(str(rendered(svc.cwd)))
        cwd = cwd if cwd.is_absolute() else self.config.root / cwd
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.update({k: str(v) for k, v in rendered(self.profile.env).items()})
        env.update({k: str(v) for k, v in rendered(svc.env).items()})
        ready = svc.ready
        if ready is not None:
            ready = Readiness(ready.kind, str(rendered(ready.target)))
        self.log(f"starting service {svc.name!r}: {shlex.join(argv)}")
        return ServiceProcess(
            svc.name,
            argv,
            cwd,
            env,
            self.state_dir / "logs" / log_name,
            ready,
            svc.start_timeout,
        )

    def _proxy(self, service: str, broker: str) -> ProxyThread:
        """The TCP proxy between ``service`` and ``broker`` (started on first use; kept over
        restarts of the service, so its faults stay where they are)."""
        found = self.proxies.get((service, broker))
        if found is None:
            url = parse_broker_url(self.brokers.get(broker) or self.wanted.get(broker, ""))
            proxy = TcpProxy(
                url.hosts[0], kafka=url.scheme.startswith("kafka"), name=f"{service}→{broker}"
            )
            found = self.proxies[(service, broker)] = ProxyThread(proxy)
            found.start()
            self.log(f"proxy for service {service!r} to broker {broker!r}: {proxy.bootstrap}")
        return found

    def proxy(self, service: str, broker: str | None = None) -> ProxyThread:
        """The proxy in front of ``service`` (``proxy = true`` in its profile) to ``broker``
        (may be left out when it has one): ``async with env.proxy("payments").toxic(Cut()):``."""
        found = [
            p for (svc, b), p in self.proxies.items() if svc == service and broker in (None, b)
        ]
        if len(found) != 1:
            known = ", ".join(f"{svc}→{b}" for svc, b in self.proxies) or "none"
            raise UsageError(
                f"no single proxy for service {service!r}"
                + (f" to broker {broker!r}" if broker else "")
                + f" (proxies: {known}); set proxy = true on the service in the profile, "
                "and name the broker when it uses several"
            )
        return found[0]

    @property
    def network(self) -> ProxyNetwork:
        """The proxies as the engine's :class:`~eventharness.engine.network.Network`, for
        ``Harness(network=env.network)``: scenarios apply toxics through it."""
        return ProxyNetwork(self)

    # -- while it runs ---------------------------------------------------------------------

    def watch(self, report: Report, resolve: Callable[[str], None]) -> None:
        """From now on, a service that exits by itself is reported — ``report(source,
        message, details, standing)`` from a watcher thread, ``source`` being
        ``service 'NAME'`` and ``details`` its log tail — and, when its profile says
        ``restart = "on-failure"`` and it failed, started again: ``resolve(source)`` once it
        is ready."""
        self._report, self._resolve = report, resolve
        for service in self.services.values():
            service.on_exit = self._exited

    def _exited(self, service: ServiceProcess, code: int) -> None:
        source = f"service {service.name!r}"
        svc = self.profile.services[service.name]
        restarting = svc.restart == "on-failure" and code != 0 and not self._stopped
        details = (f"last lines of {service.log_path}:", *tail(service.log_path).splitlines())
        again = '; restarting it (restart = "on-failure")' if restarting else ""
        self._report(source, f"exited with code {code}{again}", details, True)
        if not restarting:
            return
        with self._restart_lock:
            if self._stopped:
                return
            self._restarts[service.name] = count = self._restarts.get(service.name, 0) + 1
            try:
                fresh = self._launch(svc, f"{service.name}.restart-{count}.log")
                self.services[service.name] = fresh
            except ServiceError as exc:
                self._report(source, f"could not be restarted: {exc}", (), True)
                return
        try:
            fresh.wait_ready()
        except ServiceError as exc:
            self._report(source, f"could not be restarted: {exc}", (), True)
            return
        fresh.on_exit = self._exited
        self.log(f"service {service.name!r} restarted (pid {fresh.pid})")
        self._resolve(source)

    def _skip_reason(self, svc: ServiceConfig) -> str | None:
        if not svc.enabled:
            return "disabled in the profile (enabled = false)"
        if not self.start_services:
            return "services not started (--no-services)"
        for broker in sorted(self._brokers_of(svc)):
            url = self.brokers.get(broker) or self.wanted.get(broker, "")
            if url.startswith("memory://"):
                return f"it needs broker {broker!r}, which is {url} (in-process only)"
        return None

    def _brokers_of(self, svc: ServiceConfig) -> set[str]:
        """The broker names a service refers to, itself or through the profile's env."""
        shared = {
            ref.name.split(".")[1]
            for ref in references(self.profile.env)
            if ref.head == "brokers" and "." in ref.name
        }
        return svc.brokers_used() | shared

    # -- stopping --------------------------------------------------------------------------

    def stop(self) -> dict[str, str]:
        """Stop services (in reverse), delete cleanup channels, stop embedded brokers.
        Idempotent; returns what happened to each."""
        with self._restart_lock:
            if self._stopped:
                return {}
            self._stopped = True
        outcome: dict[str, str] = {}
        for name, service in reversed(list(self.services.items())):
            code = service.stop()
            outcome[name] = f"exit {code}"
        for proxy in self.proxies.values():
            proxy.stop()
        problems = self._cleanup()
        for name, kafka in self.embedded.items():
            kafka.stop()
            outcome[name] = "stopped"
        for problem in problems:
            self.log(problem)
        return outcome

    def _cleanup(self) -> list[str]:
        if not self.profile.cleanup or not self.brokers:
            return []
        try:
            channels = [str(self.render(c)) for c in self.profile.cleanup]
        except EventHarnessError as exc:
            return [f"cleanup skipped: {exc}"]
        problems: list[str] = []

        def work() -> None:
            problems.extend(asyncio.run(_delete_channels(channels, self.brokers)))

        thread = threading.Thread(target=work, name="cleanup")
        thread.start()
        thread.join(30.0)
        return problems

    # -- state -----------------------------------------------------------------------------

    def state(self) -> EnvironmentState:
        """What is running now, as ``eventharness up`` records it (without a supervisor)."""
        return EnvironmentState(
            profile=self.profile.name,
            config=str(self.config.path) if self.config.path else None,
            run_id=self.run_id,
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            embedded={
                name: EmbeddedRecord(
                    url=self.brokers[name],
                    pid=kafka.pid,
                    start=process_start(kafka.pid) if kafka.pid else None,
                    log=str(kafka.log_path),
                )
                for name, kafka in self.embedded.items()
                if name in self.brokers
            },
            brokers={name: redact(url) for name, url in self.brokers.items()},
            variables=dict(self.variables),
            services={
                name: ServiceRecord(
                    pid=svc.pid,
                    start=svc.start_ticks,
                    log=str(svc.log_path),
                    command=shlex.join(svc.argv),
                    ready=f"{svc.ready.kind} {svc.ready.target}" if svc.ready else None,
                )
                for name, svc in self.services.items()
            },
            skipped=dict(self.skipped),
            otlp=self.otlp,
        )


async def _delete_channels(channels: list[str], brokers: Mapping[str, str]) -> list[str]:
    from eventharness.transports.base import open_transport

    problems: list[str] = []
    for text in channels:
        try:
            channel = parse_channel(text, known_brokers=brokers)
            url = brokers[channel.broker]
            if url.startswith("memory://"):
                continue
            transport = await open_transport(url, connect_timeout=5.0)
            try:
                await transport.delete_channel(channel.address)
            finally:
                await transport.aclose()
        except EventHarnessError as exc:
            problems.append(f"cleanup of {text}: {exc}")
    return problems


class ProxyNetwork:
    """The environment's proxies, seen by scenarios (any loop, any thread) as the place where
    network faults go (:class:`eventharness.engine.network.Network`)."""

    def __init__(self, env: Environment) -> None:
        self._env = env

    async def add(self, service: str, toxic: Any, broker: str | None = None) -> str:
        found = self._env.proxy(service, broker)
        await found.acall(found.proxy.add, toxic)
        return found.proxy.name

    async def remove(self, service: str, toxic: Any, broker: str | None = None) -> None:
        found = self._env.proxy(service, broker)
        await found.acall(found.proxy.remove, toxic)
