"""A client for the Confluent Schema Registry REST API (and compatible registries).

    with RegistryClient("http://127.0.0.1:8081") as registry:
        sid = registry.register("orders-value", schema, kind="avro")
        latest = registry.get("orders-value")            # StoredSchema, version and id set
        value, error = decode_payload(raw, registry.schema_by_id)

Schemas by id and by explicit version never change, so they are cached for the client's life;
``latest`` is cached until the next :meth:`register`. Credentials may be given in the URL
(``http://user:secret@host:8081``); they are sent as basic auth and never shown in messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from eventharness.model.errors import (
    RegistryError,
    RegistryUnavailable,
    SchemaNotFound,
    UsageError,
)
from eventharness.schemas.compat import check_mode
from eventharness.schemas.store import Kind, StoredSchema, split_ref
from eventharness.schemas.validators import Validator

__all__ = [
    "CONTENT_TYPE",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "SchemaNotFound",
    "redact",
]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_KIND_BY_TYPE: dict[str, Kind] = {"AVRO": "avro", "JSON": "json"}
_TYPE_BY_KIND = {"avro": "AVRO", "json": "JSON"}


def redact(url: httpx.URL) -> str:
    """The URL as safe to show: a password becomes ``***``."""
    if url.password:
        plain = str(url.copy_with(username=None, password=None))
        scheme, _, rest = plain.partition("://")
        user = quote(url.username, safe="")
        return f"{scheme}://{user}:***@{rest}".rstrip("/")
    return str(url).rstrip("/")


class RegistryClient:
    """Synchronous, cached access to one registry. Also a :class:`SchemaStore`."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https"):
            raise UsageError(f"schema registry URL {url!r} must start with http:// or https://")
        auth = (parsed.username, parsed.password) if parsed.username else None
        self.url = redact(parsed)
        base = parsed.copy_with(username=None, password=None)
        self._http = httpx.Client(
            base_url=str(base).rstrip("/"),
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE},
        )
        self._by_id: dict[int, StoredSchema] = {}
        self._by_version: dict[tuple[str, int | None], StoredSchema] = {}
        self._validators: dict[str, Validator] = {}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"RegistryClient({self.url!r})"

    # -- requests ---------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, what: str, body: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise RegistryUnavailable(
                f"schema registry at {self.url} is not reachable ({what}): {exc!s} - "
                "check the URL and that the registry is running"
            ) from exc
        if response.is_success:
            try:
                return response.json()
            except ValueError as exc:
                raise RegistryError(
                    f"schema registry at {self.url} answered {what} with something not JSON: "
                    f"{response.text[:200]!r}"
                ) from exc
        try:
            detail = response.json()
        except ValueError:
            detail = {}
        code = detail.get("error_code", response.status_code) if isinstance(detail, dict) else 0
        message = detail.get("message", response.text) if isinstance(detail, dict) else ""
        text = f"{what}: {message or response.reason_phrase} (HTTP {response.status_code}"
        text += f", error code {code})" if code != response.status_code else ")"
        if response.status_code == 404:
            raise SchemaNotFound(f"schema registry at {self.url}: {text}")
        if response.status_code == 422:
            raise UsageError(f"schema registry at {self.url} rejected {text}")
        raise RegistryError(f"schema registry at {self.url}: {text}")

    def _stored(
        self, data: Mapping[str, Any], subject: str, version: int, sid: int
    ) -> StoredSchema:
        kind = _KIND_BY_TYPE.get(str(data.get("schemaType", "AVRO")))
        if kind is None:
            raise RegistryError(
                f"schema registry at {self.url}: schema id {sid} is a "
                f"{data.get('schemaType')} schema; eventharness reads AVRO and JSON"
            )
        return StoredSchema(
            subject, version, kind, json.loads(data["schema"]), f"{self.url}", schema_id=sid
        )

    # -- lookups ----------------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> StoredSchema:
        """The schema with this global id (what the wire format carries)."""
        found = self._by_id.get(schema_id)
        if found is None:
            data = self._request("GET", f"/schemas/ids/{schema_id}", f"schema id {schema_id}")
            found = self._stored(data, "", 0, schema_id)
            self._by_id[schema_id] = found
        return found

    def get(self, subject: str, version: int | None = None) -> StoredSchema:
        """One version of a subject; ``None`` means the latest."""
        key = (subject, version)
        found = self._by_version.get(key)
        if found is None:
            label = "latest" if version is None else str(version)
            what = f"subject {subject!r} version {label}"
            data = self._request("GET", f"/subjects/{_q(subject)}/versions/{label}", what)
            found = self._stored(data, subject, int(data["version"]), int(data["id"]))
            self._by_version[key] = found
            self._by_version[(subject, found.version)] = found
            self._by_id.setdefault(found.schema_id or 0, found)
        return found

    def versions(self, subject: str) -> list[int]:
        data = self._request("GET", f"/subjects/{_q(subject)}/versions", f"subject {subject!r}")
        return sorted(int(v) for v in data)

    def subjects(self) -> list[str]:
        return sorted(str(s) for s in self._request("GET", "/subjects", "the subject list"))

    def register(self, subject: str, schema: Any, kind: Kind = "avro") -> int:
        """Register ``schema`` under ``subject`` (idempotent); returns its global id."""
        body: dict[str, Any] = {"schema": json.dumps(schema, separators=(",", ":"))}
        if kind != "avro":
            body["schemaType"] = _TYPE_BY_KIND[kind]
        what = f"registering subject {subject!r}"
        data = self._request("POST", f"/subjects/{_q(subject)}/versions", what, body)
        self._by_version.pop((subject, None), None)
        return int(data["id"])

    def compatibility(self, subject: str | None = None) -> str:
        """The subject's compatibility mode, falling back to the registry's global one."""
        if subject is not None:
            try:
                data = self._request(
                    "GET", f"/config/{_q(subject)}", f"compatibility of subject {subject!r}"
                )
                return str(data["compatibilityLevel"])
            except SchemaNotFound:
                pass
        data = self._request("GET", "/config", "the global compatibility")
        return str(data["compatibilityLevel"])

    def set_compatibility(self, mode: str, subject: str | None = None) -> str:
        mode = check_mode(mode.upper())
        path = f"/config/{_q(subject)}" if subject is not None else "/config"
        what = f"setting compatibility of {subject!r}" if subject else "setting compatibility"
        data = self._request("PUT", path, what, {"compatibility": mode})
        return str(data["compatibility"])

    def validator(self, ref: str) -> Validator:
        """A validator for ``subject`` (latest) or ``subject@version``: the SchemaStore protocol."""
        found = self._validators.get(ref)
        if found is None:
            subject, version = split_ref(ref)
            found = self.get(subject, version).validator()
            self._validators[ref] = found
        return found


def _q(subject: str) -> str:
    return quote(subject, safe="")
