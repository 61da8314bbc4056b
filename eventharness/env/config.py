"""Configuration: ``eventharness.toml`` or ``[tool.eventharness]`` in ``pyproject.toml``.

    config = load_config()              # found by walking up from the current directory
    profile = config.profile("default")

A file holds profiles (``[profiles.NAME]``): named brokers (a URL, or ``embedded`` for the
built-in Kafka), the schema folder, correlation rules, defaults (``within``, ``concurrency``...)
and the **services** of the system under test with their readiness checks. See docs/config.md.

Values of ``vars``, ``env``, ``command``, ``cwd``, ``ready`` and ``cleanup`` may use ``${...}``
variables (:mod:`eventharness.env.references`), checked here and resolved when the
environment starts.

Every error names the file, the key and the fix. No file at all is fine: an empty ``default``
profile, brokers then come from ``--broker``.

The profile's sub-tables are read in their own modules: ``service_settings`` (services),
``watch_settings``, ``correlation_settings``, ``mask_settings``; ``table_reader`` reads the
plain values (text, durations, numbers, flags).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from eventharness.env.brokers import EMBEDDED
from eventharness.env.correlation_settings import correlation_settings
from eventharness.env.mask_settings import mask_settings
from eventharness.env.references import places_problem
from eventharness.env.service_settings import ServiceConfig, ServiceReader
from eventharness.env.table_reader import did_you_mean
from eventharness.env.tomlfile import find_config, read_toml
from eventharness.env.watch_settings import WatchSettings, watch_settings
from eventharness.model.channels import parse_broker_url, redact
from eventharness.model.errors import ChannelError, ConfigError
from eventharness.transports.base import check_scheme

__all__ = [
    "Config",
    "Profile",
    "find_config",
    "load_config",
]

PROFILE_KEYS = (
    "brokers",
    "schemas",
    "within",
    "connect_timeout",
    "correlation",
    "vars",
    "env",
    "services",
    "cleanup",
    "concurrency",
    "fail_fast",
    "report_json",
    "report_html",
    "junit",
    "paths",
    "select",
    "start_services",
    "verbose",
    "extends",
    "channel_schemas",
    "otlp",
    "asyncapi",
    "mask",
    "watch",
)
TOP_KEYS = ("default_profile", "profiles")


@dataclass(frozen=True)
class Profile:
    name: str
    brokers: dict[str, str] = field(default_factory=dict)
    schemas: str | None = None
    within: float = 10.0
    connect_timeout: float = 10.0
    payload_field: str = "correlation_id"
    correlation: dict[str, str] = field(default_factory=dict)
    correlation_headers: tuple[str, ...] = ()
    channel_schemas: dict[str, str | dict[str, str]] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceConfig] = field(default_factory=dict)
    cleanup: list[str] = field(default_factory=list)
    concurrency: int = 4
    fail_fast: bool = False
    report_json: str | None = None
    report_html: str | None = None
    otlp: str | None = None  # OTLP/HTTP endpoint spans are exported to (tracing on)
    junit: str | None = None
    paths: list[str] = field(default_factory=lambda: ["scenarios"])
    select: str | None = None
    start_services: bool = True
    verbose: bool = False
    asyncapi: str | None = None  # an AsyncAPI document binding channels (eventharness.asyncapi)
    mask: tuple[str, ...] = ()  # payload paths masked in recordings and reports (engine.masking)
    watch: WatchSettings = field(default_factory=WatchSettings)  # `eventharness watch`

    @property
    def embedded(self) -> list[str]:
        return [name for name, url in self.brokers.items() if url == EMBEDDED]

    def __repr__(self) -> str:  # passwords in URLs (brokers, env, vars) as *** (`pytest -l`)
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return redact(f"Profile({shown})")


@dataclass(frozen=True)
class Config:
    path: Path | None
    root: Path
    default_profile: str = "default"
    profiles: dict[str, Profile] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.path) if self.path is not None else "(no config file)"

    def profile(self, name: str | None = None) -> Profile:
        chosen = name or self.default_profile
        found = self.profiles.get(chosen)
        if found is not None:
            return found
        if not self.profiles and chosen == "default":
            return Profile("default")
        known = ", ".join(sorted(self.profiles)) or "none"
        raise ConfigError(
            f"{self.source}: no profile {chosen!r}{did_you_mean(chosen, self.profiles)}; "
            f"profiles: {known} (add [profiles.{chosen}])"
        )

    def schema_path(self, profile: Profile) -> Path | None:
        """The profile's schema folder (None when it has none or uses a registry URL)."""
        if profile.schemas is None or profile.schemas.startswith(("http://", "https://")):
            return None
        return Path(profile.schemas)


def load_config(path: str | Path | None = None, *, start: Path | None = None) -> Config:
    """Read ``path`` (an eventharness.toml or a pyproject.toml), or find one from ``start``."""
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"config file {file} does not exist; give an existing "
                "eventharness.toml or pyproject.toml to --config"
            )
        data = read_toml(file)
        if file.name == "pyproject.toml":
            tool = data.get("tool", {}).get("eventharness")
            if tool is None:
                raise ConfigError(
                    f"{file} has no [tool.eventharness] table; add one, or "
                    "point --config at an eventharness.toml"
                )
            data = tool
        found: tuple[Path, dict[str, Any]] | None = (file.resolve(), data)
    else:
        found = find_config(start)
    if found is None:
        return Config(None, (start or Path.cwd()).resolve())
    file, data = found
    return _Reader(file).config(data)


class _Reader(ServiceReader):
    """Turns the TOML data into a Config, naming file and key in every error."""

    def config(self, data: Mapping[str, Any]) -> Config:
        self.known_keys("", data, TOP_KEYS, "the top level has default_profile and [profiles.NAME]")
        raw_profiles = data.get("profiles", {})
        if not isinstance(raw_profiles, Mapping):
            raise self.fail("profiles", "must be a table of profiles: [profiles.default]")
        profiles: dict[str, Profile] = {}
        for name in raw_profiles:
            profiles[name] = self.profile(name, self.merged(name, raw_profiles, ()))
        default = data.get("default_profile", "default")
        if not isinstance(default, str):
            raise self.fail("default_profile", "must be a profile name")
        if profiles and default not in profiles and "default_profile" in data:
            raise self.fail(
                "default_profile",
                f"{default!r} is not a profile here (profiles: {', '.join(profiles)})",
            )
        return Config(self.file, self.file.parent, default, profiles)

    def merged(self, name: str, raw: Mapping[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
        """A profile's table with ``extends`` applied (tables merge one level deep)."""
        table = raw[name]
        if not isinstance(table, Mapping):
            raise self.fail(f"profiles.{name}", "must be a table: [profiles.NAME]")
        parent_name = table.get("extends")
        if parent_name is None:
            return dict(table)
        if parent_name in (*seen, name) or parent_name not in raw:
            what = "loops back" if parent_name in (*seen, name) else "names no profile here"
            raise self.fail(f"profiles.{name}.extends", f"{parent_name!r} {what}")
        out = self.merged(parent_name, raw, (*seen, name))
        for key, value in table.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = {**out[key], **value}
            else:
                out[key] = value
        out.pop("extends", None)
        return out

    def profile(self, name: str, table: Mapping[str, Any]) -> Profile:
        where = f"profiles.{name}"
        self.known_keys(where, table, PROFILE_KEYS, f"a profile has: {', '.join(PROFILE_KEYS)}")
        brokers = self.brokers(where, table.get("brokers", {}))
        payload_field, rules, correlation_headers = correlation_settings(
            table.get("correlation", {}), where, self.fail
        )
        variables = self.strings(f"{where}.vars", table.get("vars", {}))
        env = self.strings(f"{where}.env", table.get("env", {}))
        services_raw = table.get("services", {})
        if not isinstance(services_raw, Mapping):
            raise self.fail(f"{where}.services", "must be a table: [profiles.NAME.services.X]")
        services = {
            svc: self.service(f"{where}.services.{svc}", svc, spec)
            for svc, spec in services_raw.items()
        }
        cleanup = table.get("cleanup", [])
        if not isinstance(cleanup, list) or not all(isinstance(c, str) for c in cleanup):
            raise self.fail(
                f"{where}.cleanup",
                "must be a list of channels to delete when the "
                'environment stops, e.g. ["rabbit:shop-${run.id}-shipping"]',
            )
        paths = table.get("paths", ["scenarios"])
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise self.fail(f"{where}.paths", "must be a list of scenario folders or files")
        profile = Profile(
            name=name,
            brokers=brokers,
            schemas=self.schemas_location(where, table),
            within=self.duration(where, table, "within", 10.0),
            connect_timeout=self.duration(where, table, "connect_timeout", 10.0),
            payload_field=payload_field,
            correlation=rules,
            correlation_headers=correlation_headers,
            channel_schemas=self.channel_schemas(where, table.get("channel_schemas", {})),
            vars=variables,
            env=env,
            services=services,
            cleanup=list(cleanup),
            concurrency=self.number(where, table, "concurrency", 4),
            fail_fast=self.flag(where, table, "fail_fast", False),
            report_json=self.optional_text(where, table, "report_json"),
            report_html=self.optional_text(where, table, "report_html"),
            otlp=self.optional_text(where, table, "otlp"),
            junit=self.optional_text(where, table, "junit"),
            paths=list(paths),
            select=self.optional_text(where, table, "select"),
            start_services=self.flag(where, table, "start_services", True),
            verbose=self.flag(where, table, "verbose", False),
            asyncapi=self.path_text(where, table, "asyncapi"),
            mask=mask_settings(table.get("mask", []), where, self.fail),
            watch=watch_settings(table.get("watch", {}), where, self.fail),
        )
        self.check_refs(profile)
        return profile

    def channel_schemas(self, where: str, raw: Any) -> dict[str, str | dict[str, str]]:
        """``{"kafka:payments" = "subject"}`` or ``{"kafka:payments" = {Type = "subject"}}``."""
        key = f"{where}.channel_schemas"
        hint = (
            'e.g. "kafka:orders" = "shop.OrderPlaced" or "kafka:payments" = '
            '{PaymentAuthorized = "shop.PaymentAuthorized"}'
        )
        if not isinstance(raw, Mapping):
            raise self.fail(key, f"must map channels to schema subjects, {hint}")
        bindings: dict[str, str | dict[str, str]] = {}
        for channel, subject in raw.items():
            if isinstance(subject, str):
                bindings[str(channel)] = subject
            elif isinstance(subject, Mapping) and all(isinstance(v, str) for v in subject.values()):
                bindings[str(channel)] = {str(t): v for t, v in subject.items()}
            else:
                raise self.fail(
                    f"{key}.{channel}",
                    f"must be a subject or a table of event types to subjects, {hint}",
                )
        return bindings

    def brokers(self, where: str, raw: Any) -> dict[str, str]:
        if not isinstance(raw, Mapping):
            raise self.fail(
                f"{where}.brokers",
                "must map names to URLs, e.g. brokers = "
                '{kafka = "embedded", rabbit = "amqp://guest:guest@127.0.0.1:5672/"}',
            )
        out: dict[str, str] = {}
        for name, url in raw.items():
            if not isinstance(url, str):
                raise self.fail(
                    f"{where}.brokers.{name}", f'must be a URL or "embedded", got {url!r}'
                )
            if url != EMBEDDED:
                try:
                    check_scheme(parse_broker_url(url))
                except ChannelError as exc:
                    raise self.fail(
                        f"{where}.brokers.{name}",
                        f'{exc} (or use "embedded" for the built-in Kafka)',
                    ) from exc
            out[str(name)] = url
        return out

    def schemas_location(self, where: str, table: Mapping[str, Any]) -> str | None:
        """``schemas``: a registry URL as written, a folder made absolute against the config
        file's folder (so a profile means the same wherever the command runs)."""
        value = self.optional_text(where, table, "schemas")
        if value is None or value.startswith(("http://", "https://")):
            return value
        path = Path(value)
        return str(path if path.is_absolute() else self.file.parent / path)

    def check_refs(self, profile: Profile) -> None:
        """Every ``${...}`` in the profile names something that will exist."""
        where = f"profiles.{profile.name}"
        places: list[tuple[str, Any]] = []
        for key, value in profile.vars.items():
            places.append((f"{where}.vars.{key}", value))
        places.append((f"{where}.env", profile.env))
        places.append((f"{where}.cleanup", profile.cleanup))
        places.append((f"{where}.channel_schemas", list(profile.channel_schemas)))
        places.append((f"{where}.correlation", list(profile.correlation)))
        for svc in profile.services.values():
            base = f"{where}.services.{svc.name}"
            places.append((f"{base}.command", svc.command))
            places.append((f"{base}.cwd", svc.cwd))
            places.append((f"{base}.env", svc.env))
            if svc.ready is not None:
                places.append((f"{base}.ready", svc.ready.target))
        found = places_problem(places, where=where, brokers=profile.brokers, variables=profile.vars)
        if found is not None:
            raise self.fail(*found)
